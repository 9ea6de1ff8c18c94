// Package sftp is the [connector.Connector] of the files of an SFTP server,
// through golang.org/x/crypto/ssh and github.com/pkg/sftp, and the sftp://
// scheme that Register adds to a [connector.Registry].
package sftp
