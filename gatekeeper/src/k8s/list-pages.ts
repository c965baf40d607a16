// A list of one resource, page by page (limit / continue), that survives an expired continue token. The API server
// answers 410 Gone when the snapshot a long list reads from has been compacted; its Status then carries a token that
// resumes from the next key on the current data (no object twice, none skipped that still exists). Without such a
// token the list starts over and objects already handed out (by uid) are left out, so a caller never sees one twice.
import { KubeApiError, isGone, type KubeClient, type KubeList, type KubeObject } from './client.js';

export interface ListPagesOptions {
  limit: number;
  timeoutMs: number;
  /** Told each time an expired token was recovered from: resumed with the server's token, or restarted. */
  onExpired?: (how: 'resumed' | 'restarted', error: KubeApiError) => void;
  /** Expired tokens recovered from in a row (without a page in between) before giving up. Default 5. */
  maxExpiredInARow?: number;
}

type PageResult = { page: KubeList } | { error: unknown };

/**
 * Yields the items of each page. The next page is requested as soon as one is handed over, so the API server prepares
 * it while the caller works: at most two pages are held. Rejects with the API error when the list cannot go on.
 */
export async function* listPages(client: KubeClient, path: string, o: ListPagesOptions): AsyncGenerator<KubeObject[]> {
  const fetchPage = (cont: string | undefined): Promise<PageResult> =>
    client.get<KubeList>(path, { query: { limit: o.limit, continue: cont }, timeoutMs: o.timeoutMs }).then(
      (page) => ({ page }),
      (error: unknown) => ({ error }),
    );
  let seen: Set<string> | undefined; // only after a restart: the uids handed out before it
  const handedOut: string[] = [];
  let expiredInARow = 0;
  let next: Promise<PageResult> | undefined = fetchPage(undefined);
  while (next) {
    const got: PageResult = await next;
    if ('error' in got) {
      const e = got.error;
      if (!isGone(e) || ++expiredInARow > (o.maxExpiredInARow ?? 5)) throw e;
      const gone = e as KubeApiError;
      if (gone.continueToken) {
        o.onExpired?.('resumed', gone);
        next = fetchPage(gone.continueToken);
      } else {
        o.onExpired?.('restarted', gone);
        seen = new Set([...(seen ?? []), ...handedOut]);
        next = fetchPage(undefined);
      }
      continue;
    }
    expiredInARow = 0;
    const cont: string | undefined = got.page.metadata.continue;
    next = cont ? fetchPage(cont) : undefined;
    const items = seen ? got.page.items.filter((i) => !i.metadata?.uid || !seen!.has(i.metadata.uid)) : got.page.items;
    for (const i of items) if (i.metadata?.uid) handedOut.push(i.metadata.uid);
    yield items;
  }
}
