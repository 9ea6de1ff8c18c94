// Package sftp is a [connector.Connector] of the files of an SFTP server,
// through golang.org/x/crypto/ssh and github.com/pkg/sftp. It is a package
// of its own so that a host that does not fetch over SFTP compiles no SSH
// code.
//
// [Dial] connects with a [Config] and returns a [Connector] that the
// caller closes; [Register] adds the sftp:// scheme to a
// [connector.Registry], whose Open dials for each URL (the caller closes
// the connector it returns).
//
// Contracts:
//
//   - Host keys are always checked: a Config needs HostKeyCallback or
//     KnownHostsFile, else Dial returns [ErrNoHostKeyCheck] without
//     connecting; a key that does not match known_hosts is an error.
//   - Credentials: a password (also offered as keyboard-interactive), a
//     PEM private key, or signers (an agent's); none is [ErrNoAuth].
//   - Dial is bounded by ctx and Config.ConnectTimeout (15 s by default).
//   - Files are streamed and hashed while read (their FileInfo gets a
//     ContentHash at the end, so a job can skip an unchanged file), bounded
//     by Config.MaxBytes ([connector.ErrSizeLimit]), and implement
//     io.ReaderAt, so a workbook needs no temporary copy. A File stays bound
//     to the ctx it was opened with: canceling it interrupts a Read.
//   - A path that does not exist is an error wrapping io/fs.ErrNotExist.
//   - A Connector serves several goroutines at once, each with its own File.
//
// The connector passes the conformance kit of package connectortest.
package sftp
