// The Kafka sink's library-independent pieces: murmur2 placement against the Java-compatible partitioners of both
// client libraries, the headers of a message, and how each transport turns its library's errors into what the sink
// classifies (record / topic / batch, reconnect or not).
import t from 'tap';
import { createRequire } from 'node:module';
import { randomBytes } from 'node:crypto';
import kafkajs from 'kafkajs';
import { AuthenticationError, MultipleErrors, NetworkError, ProtocolError, murmur2 as platformaticMurmur2 } from '@platformatic/kafka';
import { murmur2, partitionForKey } from '../src/sinks/kafka/murmur2.js';
import { MessageHeaders } from '../src/sinks/kafka/message.js';
import { classifyKafkaError } from '../src/sinks/kafka/errors.js';
import { fromKafkajs } from '../src/sinks/kafka/transport-kafkajs.js';
import { fromPlatformatic } from '../src/sinks/kafka/transport-platformatic.js';
import { ProducerSequences } from '../src/sinks/kafka/sequences.js';

const { KafkaJSConnectionError, KafkaJSNonRetriableError, KafkaJSNumberOfRetriesExceeded, KafkaJSProtocolError } = kafkajs;
// kafkajs' types leave out the options its error constructors take (src/errors.js). A protocol error is built below as
// createErrorFromCode builds it (retriable in the code's entry); the last error is wrapped as kafkajs' retry wraps it
// (src/retry/index.js), with a cause: where the sink finds the broker's error type.
const NonRetriableWithCause = KafkaJSNonRetriableError as unknown as new (e: Error, opts: { cause: Error }) => InstanceType<typeof KafkaJSNonRetriableError>;
const kafkajsMurmur2 = createRequire(import.meta.url)('kafkajs/src/producer/partitioners/default/murmur2.js') as (b: Buffer) => number;

t.test('murmur2 and the key partition match the Java client (kafkajs and @platformatic/kafka partitioners)', async (t) => {
  let bad = 0;
  for (let n = 0; n < 2000; n++) {
    const key = n % 2 ? randomBytes(n % 97) : Buffer.from(`team-${n}/checkout-${n * 7}-é`);
    if (murmur2(key) !== kafkajsMurmur2(key)) bad++;
    if (murmur2(key) !== platformaticMurmur2(key, false)) bad++;
    if (partitionForKey(key, 7) !== (kafkajsMurmur2(key) & 0x7fffffff) % 7) bad++;
  }
  t.equal(bad, 0);
});

t.test('a message: the static extras, then decisionId, eventType, schemaVersion, content-type; the record wins', async (t) => {
  const headers = new MessageHeaders({ cluster: 'prod-eu-1', decisionId: 'ignored: the record wins' });
  const m = headers.message('ns/nämé', '{"a":"ü"}', 'id-1', 'violation_admission', '1');
  t.same(m.headers, [
    ['cluster', 'prod-eu-1'],
    ['decisionId', 'id-1'],
    ['eventType', 'violation_admission'],
    ['schemaVersion', '1'],
    ['content-type', 'application/json'],
  ]);
  t.equal(m.key?.toString(), 'ns/nämé');
  const headerBytes = m.headers.reduce((n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(v), 0);
  t.equal(m.bytes, Buffer.byteLength('ns/nämé') + Buffer.byteLength('{"a":"ü"}') + headerBytes, 'bytes: key, value and headers');
  t.equal(headers.message(undefined, '{}', 'id-2', 'audit_started', '1').key, null, 'no key');
});

t.test('kafkajs errors: the broker type found under its wrappers, connection errors reconnect', async (t) => {
  const tooLarge = new KafkaJSProtocolError({ message: 'too large', type: 'MESSAGE_TOO_LARGE', code: 10, retriable: false } as unknown as Error);
  t.match(classifyKafkaError(fromKafkajs(new NonRetriableWithCause(tooLarge, { cause: tooLarge }))), { scope: 'record', type: 'MESSAGE_TOO_LARGE', reconnect: false });
  const invalidTopic = new KafkaJSProtocolError({ message: 'bad name', type: 'INVALID_TOPIC_EXCEPTION', code: 17, retriable: false } as unknown as Error);
  t.match(classifyKafkaError(fromKafkajs(invalidTopic)), { scope: 'topic', type: 'INVALID_TOPIC_EXCEPTION' });
  const notLeader = new KafkaJSProtocolError({ message: 'moved', type: 'NOT_LEADER_OR_FOLLOWER', code: 6, retriable: true } as unknown as Error);
  t.match(classifyKafkaError(fromKafkajs(new KafkaJSNumberOfRetriesExceeded(notLeader, { retryCount: 3, retryTime: 800 }))), {
    scope: 'batch',
    type: 'NOT_LEADER_OR_FOLLOWER',
    reconnect: false,
  });
  const outOfOrder = new KafkaJSProtocolError({ message: 'seq', type: 'OUT_OF_ORDER_SEQUENCE_NUMBER', code: 45, retriable: false } as unknown as Error);
  t.match(classifyKafkaError(fromKafkajs(outOfOrder)), { scope: 'batch', reconnect: true }, 'a producer-state error starts a new producer');
  t.match(classifyKafkaError(fromKafkajs(new KafkaJSConnectionError('Connection error: ECONNREFUSED'))), { scope: 'batch', reconnect: true });
});

t.test('@platformatic/kafka errors: the broker type found under retries, network and authentication errors reconnect', async (t) => {
  const tooLarge = fromPlatformatic(new MultipleErrors('produce failed 1 times.', [new ProtocolError('MESSAGE_TOO_LARGE')]));
  t.match(classifyKafkaError(tooLarge), { scope: 'record', type: 'MESSAGE_TOO_LARGE', reconnect: false });
  t.equal(tooLarge.retriable, false);
  t.match(classifyKafkaError(fromPlatformatic(new ProtocolError('INVALID_TOPIC_EXCEPTION'))), { scope: 'topic' });
  const retries = new MultipleErrors('produce failed 3 times.', [new NetworkError('Connection closed'), new ProtocolError('NOT_LEADER_OR_FOLLOWER')]);
  const moved = fromPlatformatic(retries);
  t.match(classifyKafkaError(moved), { scope: 'batch', type: 'NOT_LEADER_OR_FOLLOWER', reconnect: true }, 'the last attempt names the type');
  t.equal(moved.retriable, true);
  t.match(classifyKafkaError(fromPlatformatic(new ProtocolError('UNKNOWN_PRODUCER_ID'))), { scope: 'batch', reconnect: true });
  t.match(classifyKafkaError(fromPlatformatic(new AuthenticationError('SASL authentication failed'))), { scope: 'batch', reconnect: true });
});

t.test('an error from outside a transport is retried, never dropped', async (t) => {
  t.match(classifyKafkaError(new Error('not sent: an earlier request failed')), { scope: 'batch', reconnect: false });
});

t.test('sequence numbers: taken when sent, wrapping as Kafka wraps them; a reset starts again at 0, its first request alone', async (t) => {
  const seq = new ProducerSequences();
  t.notOk(seq.pipelines('t:0'), 'nothing acknowledged yet');
  const first = seq.take('t:0', 100);
  t.same([first.first, seq.take('t:0', 50).first, seq.take('t:1', 7).first], [0, 100, 0], 'per partition, advanced at once');
  seq.acknowledged('t:0', first);
  t.ok(seq.pipelines('t:0'), 'acknowledged: the partition pipelines');
  t.notOk(seq.pipelines('t:1'), 'another partition does not');
  seq.take('t:0', 2 ** 31 - 150 - 5);
  t.equal(seq.take('t:0', 10).first, 2 ** 31 - 5, 'up to Int32.MAX_VALUE');
  t.equal(seq.take('t:0', 1).first, 5, 'then from 0 again, as the broker counts');
  seq.reset();
  t.notOk(seq.pipelines('t:0'), 'a new producer id: its first request goes alone');
  t.equal(seq.take('t:0', 10).first, 0);
  seq.acknowledged('t:0', first);
  t.notOk(seq.pipelines('t:0'), 'an acknowledgement of the old producer id does not count');
});
