package sftp_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/intakehq/intake/connector"
	"github.com/intakehq/intake/connector/sftp"
)

// A host that imports from SFTP servers registers the scheme; a job then
// names sftp://user@host/path. Dial checks the configuration before it
// connects: host key checking is required.
func ExampleRegister() {
	reg := connector.DefaultRegistry(connector.RegistryConfig{})
	if err := sftp.Register(reg, sftp.Config{KnownHostsFile: "/home/crm/.ssh/known_hosts"}); err != nil {
		log.Fatal(err)
	}
	fmt.Println(reg.Schemes())

	_, _, err := reg.Open(context.Background(), "sftp://exports@sftp.example.com/outgoing/")
	fmt.Println(err)

	_, err = sftp.Dial(context.Background(), sftp.Config{Addr: "sftp.example.com", User: "exports", Password: "secret"})
	fmt.Println(errors.Is(err, sftp.ErrNoHostKeyCheck))
	// Output:
	// [file sftp]
	// sftp: the sftp URL names no file (sftp://user@host/path/file.csv)
	// true
}
