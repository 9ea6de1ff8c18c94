// Package httpconn is a [connector.Connector] of files served over HTTP
// and HTTPS, through net/http. It is a package of its own so that a host
// that does not download files compiles no net/http and no crypto/tls.
//
// [New] checks a [Config] and returns a [Connector]; [Register] adds the
// http:// and https:// schemes to a [connector.Registry], both served by
// one Connector (a URL's path is the whole URL).
//
// Contracts:
//
//   - A download is one GET, streamed (memory stays flat whatever the
//     file's size) and hashed while it is read: its FileInfo gets a
//     ContentHash at the end, so a job can skip an unchanged file. The body
//     is bounded by Config.MaxBytes, by Content-Length before it is read and
//     as it streams ([connector.ErrSizeLimit]), and the whole download by
//     Config.Timeout.
//   - Conditional requests: Connector implements
//     [connector.ConditionalOpener] with If-None-Match (the last ETag) and
//     If-Modified-Since (the last modification time); a 304 is
//     [connector.ErrNotModified].
//   - Statuses: 200 is the file; 404 and 410 wrap [io/fs.ErrNotExist];
//     any other is an error wrapping [ErrStatus] that names it.
//   - Credentials: Config.Header (Authorization, API keys) goes only to the
//     origin (scheme, host and port) of the URL given to Open; a redirect to
//     another origin gets none of it, nor does any later hop of that chain.
//     An upgrade from http on port 80 to https on port 443 of the same host
//     name keeps it. No Referer is ever sent. This package's errors and
//     log records name a URL without its query and password.
//   - Hosts: with Config.AllowedHosts, the URL and every redirect target
//     must be on the list, else the download fails with [ErrHostNotAllowed]
//     before anything is sent to that host.
//   - Redirects: at most Config.MaxRedirects (10 by default), to http and
//     https URLs only; one more, or another scheme, is [ErrRedirect].
//   - Retries: only failures that may pass (408, 429, a 5xx other than 501
//     and 505, a timeout, a connection reset or refused, a temporary DNS
//     failure), with exponential backoff and jitter, honouring Retry-After,
//     within Config.MaxRetryTime. A body cut halfway is not retried.
//   - Files do not implement io.ReaderAt: [connector.RandomAccess] copies a
//     workbook to a temporary file.
//   - A Connector serves several goroutines at once, each with its own File.
//
// The connector passes the conformance kit of package connectortest.
package httpconn
