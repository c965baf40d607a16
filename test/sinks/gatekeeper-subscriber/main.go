// A Dapr subscriber written the way Gatekeeper's export consumers are (Go SDK, HTTP service): the CloudEvent's data
// is taken as TopicEvent.RawData, unquoted (Gatekeeper publishes the JSON message as a string), and decoded into
// Gatekeeper's export message struct. It prints one JSON line per message it understood, to stdout, so a test can
// check that our records reach such a consumer and decode unchanged.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"os"
	"strconv"

	"github.com/dapr/go-sdk/service/common"
	daprd "github.com/dapr/go-sdk/service/http"
)

// ExportMsg holds the fields of Gatekeeper's export message (pkg/export/util), as its consumers declare them.
type ExportMsg struct {
	ID                    string            `json:"id,omitempty"`
	Details               interface{}       `json:"details,omitempty"`
	EventType             string            `json:"eventType,omitempty"`
	Group                 string            `json:"group,omitempty"`
	Version               string            `json:"version,omitempty"`
	Kind                  string            `json:"kind,omitempty"`
	Name                  string            `json:"name,omitempty"`
	Namespace             string            `json:"namespace,omitempty"`
	Message               string            `json:"message,omitempty"`
	EnforcementAction     string            `json:"enforcementAction,omitempty"`
	ConstraintAnnotations map[string]string `json:"constraintAnnotations,omitempty"`
	ResourceGroup         string            `json:"resourceGroup,omitempty"`
	ResourceAPIVersion    string            `json:"resourceAPIVersion,omitempty"`
	ResourceKind          string            `json:"resourceKind,omitempty"`
	ResourceNamespace     string            `json:"resourceNamespace,omitempty"`
	ResourceName          string            `json:"resourceName,omitempty"`
	ResourceLabels        map[string]string `json:"resourceLabels,omitempty"`
}

type seen struct {
	CloudEventID string    `json:"cloudEventId"`
	Msg          ExportMsg `json:"msg"`
}

func main() {
	if len(os.Args) != 4 {
		log.Fatalf("usage: %s <listen address> <pubsub> <topic>", os.Args[0])
	}
	s := daprd.NewService(os.Args[1])
	sub := &common.Subscription{PubsubName: os.Args[2], Topic: os.Args[3], Route: "/checkout"}
	enc := json.NewEncoder(os.Stdout)
	if err := s.AddTopicEventHandler(sub, func(_ context.Context, e *common.TopicEvent) (bool, error) {
		var msg ExportMsg
		jsonInput, err := strconv.Unquote(string(e.RawData))
		if err != nil {
			fmt.Fprintf(os.Stderr, "error unquoting %v: %s\n", err, e.RawData)
			return false, nil
		}
		if err := json.Unmarshal([]byte(jsonInput), &msg); err != nil {
			fmt.Fprintf(os.Stderr, "error decoding %v\n", err)
			return false, nil
		}
		return false, enc.Encode(seen{CloudEventID: e.ID, Msg: msg})
	}); err != nil {
		log.Fatalf("error adding topic subscription: %v", err)
	}
	if err := s.Start(); err != nil {
		log.Fatalf("error listening: %v", err)
	}
}
