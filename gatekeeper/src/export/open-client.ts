// Opens the exporter's client (exporter/src/client) on a Unix socket.
import type { Logger } from 'pino';
import type { RecordSender } from './decision-export.js';

export async function openRecordSender(socketPath: string, logger: Logger): Promise<RecordSender> {
  void socketPath;
  void logger;
  throw new Error('the export client is not available yet');
}
