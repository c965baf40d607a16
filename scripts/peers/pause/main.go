// The real one-node cluster's sandbox ("pause") image: holds a pod's namespaces, doing nothing until SIGTERM/SIGINT.
// With -http ADDR it also answers every HTTP request with "pong from <hostname>", which gives the cluster tests a pod
// to reach through a Service without any other image.
package main

import (
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	addr := flag.String("http", "", "also answer HTTP on this address, e.g. :8080")
	flag.Parse()
	if *addr != "" {
		host, _ := os.Hostname()
		go func() {
			err := http.ListenAndServe(*addr, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				fmt.Fprintf(w, "pong from %s\n", host)
			}))
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}()
	}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	<-stop
}
