package sftp_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	pkgsftp "github.com/pkg/sftp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/intakehq/intake/connector"
	"github.com/intakehq/intake/connector/connectortest"
	"github.com/intakehq/intake/connector/internal/kit"
	"github.com/intakehq/intake/connector/sftp"
	"github.com/intakehq/intake/connector/xlsx"
)

const (
	sftpUser     = "intake"
	sftpPassword = "s3cret"
)

// sftpFixture is an in-process SSH server with the sftp subsystem on a
// loopback port, serving dir.
type sftpFixture struct {
	addr       string
	dir        string
	hostKey    ssh.PublicKey
	clientKey  []byte // PEM, authorized on the server
	knownHosts string // a known_hosts file with the server's key
}

func (fx *sftpFixture) config() sftp.Config {
	return sftp.Config{Addr: fx.addr, User: sftpUser, Password: sftpPassword, HostKeyCallback: ssh.FixedHostKey(fx.hostKey)}
}

// setupSFTP starts the server with dir holding the kit's files under
// exports/; it stops it (and waits for its goroutines) when the test ends.
func setupSFTP(t *testing.T) *sftpFixture {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "exports"), 0o755))
	csv, _ := kit.CSV()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "exports", "contacts.csv"), csv, 0o644))
	book, _ := kit.XLSX(t)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "exports", "contacts.xlsx"), book, 0o644))

	_, hostPriv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	hostSigner, err := ssh.NewSignerFromKey(hostPriv)
	require.NoError(t, err)
	clientPub, clientPriv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	block, err := ssh.MarshalPrivateKey(clientPriv, "")
	require.NoError(t, err)
	authorized, err := ssh.NewPublicKey(clientPub)
	require.NoError(t, err)

	cfg := &ssh.ServerConfig{
		PasswordCallback: func(c ssh.ConnMetadata, pw []byte) (*ssh.Permissions, error) {
			if c.User() == sftpUser && string(pw) == sftpPassword {
				return nil, nil
			}
			return nil, fmt.Errorf("password rejected for %q", c.User())
		},
		PublicKeyCallback: func(c ssh.ConnMetadata, k ssh.PublicKey) (*ssh.Permissions, error) {
			if c.User() == sftpUser && string(k.Marshal()) == string(authorized.Marshal()) {
				return nil, nil
			}
			return nil, fmt.Errorf("unknown public key for %q", c.User())
		},
	}
	cfg.AddHostKey(hostSigner)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		conns []net.Conn
	)
	wg.Go(func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, nc)
			mu.Unlock()
			wg.Go(func() { serveSSH(&wg, nc, cfg, dir) })
		}
	})
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})

	fx := &sftpFixture{addr: ln.Addr().String(), dir: dir, hostKey: hostSigner.PublicKey(),
		clientKey: pem.EncodeToMemory(block)}
	fx.knownHosts = filepath.Join(t.TempDir(), "known_hosts")
	line := knownhosts.Line([]string{knownhosts.Normalize(fx.addr)}, fx.hostKey)
	require.NoError(t, os.WriteFile(fx.knownHosts, []byte(line+"\n"), 0o600))
	return fx
}

// serveSSH runs one SSH connection: sessions that ask for the sftp
// subsystem get an sftp.Server on dir.
func serveSSH(wg *sync.WaitGroup, nc net.Conn, cfg *ssh.ServerConfig, dir string) {
	defer nc.Close()
	sc, chans, reqs, err := ssh.NewServerConn(nc, cfg)
	if err != nil {
		return
	}
	defer sc.Close()
	wg.Go(func() { ssh.DiscardRequests(reqs) })
	for nch := range chans {
		if nch.ChannelType() != "session" {
			nch.Reject(ssh.UnknownChannelType, "sessions only")
			continue
		}
		ch, creqs, err := nch.Accept()
		if err != nil {
			continue
		}
		wg.Go(func() {
			defer ch.Close()
			for req := range creqs {
				ok := req.Type == "subsystem" && len(req.Payload) > 4 && string(req.Payload[4:]) == "sftp"
				req.Reply(ok, nil)
				if !ok {
					continue
				}
				srv, err := pkgsftp.NewServer(ch, pkgsftp.WithServerWorkingDirectory(dir))
				if err != nil {
					return
				}
				wg.Go(func() {
					for range creqs {
					}
				})
				srv.Serve()
				srv.Close()
				return
			}
		})
	}
}

func dialSFTP(t *testing.T, cfg sftp.Config) *sftp.Connector {
	t.Helper()
	s, err := sftp.Dial(context.Background(), cfg)
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}

func TestSFTPConformance(t *testing.T) {
	t.Parallel()
	fx := setupSFTP(t)
	s := dialSFTP(t, fx.config())
	csv, want := kit.CSV()
	connectortest.TestConnector(t, s, "exports/contacts.csv", csv)
	connectortest.TestSource(t, func(ctx context.Context) (connector.Source, error) {
		return connector.NewRegistry().OpenSource(ctx, s, "exports/contacts.csv", connector.SourceConfig{})
	}, want)
	_, wantX := kit.XLSX(t)
	reg := connector.NewRegistry()
	require.NoError(t, xlsx.Register(reg, xlsx.Config{}))
	connectortest.TestSource(t, func(ctx context.Context) (connector.Source, error) {
		return reg.OpenSource(ctx, s, "exports/contacts.xlsx", connector.SourceConfig{}) // io.ReaderAt, no spool
	}, wantX)
	// Dir resolves relative paths; absolute ones are the server's.
	cfg := fx.config()
	cfg.Dir = filepath.ToSlash(filepath.Join(fx.dir, "exports"))
	s2 := dialSFTP(t, cfg)
	connectortest.TestConnector(t, s2, "contacts.csv", csv)
	connectortest.TestConnector(t, s2, cfg.Dir+"/contacts.csv", csv)
}

func TestSFTPAuthAndHostKeys(t *testing.T) {
	t.Parallel()
	fx := setupSFTP(t)
	_, otherPriv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	other, err := ssh.NewSignerFromKey(otherPriv)
	require.NoError(t, err)
	otherHosts := filepath.Join(t.TempDir(), "known_hosts")
	require.NoError(t, os.WriteFile(otherHosts, []byte(knownhosts.Line([]string{"[other.example]:22"}, fx.hostKey)+"\n"), 0o600))
	wrongHosts := filepath.Join(t.TempDir(), "known_hosts_wrong")
	require.NoError(t, os.WriteFile(wrongHosts, []byte(knownhosts.Line([]string{knownhosts.Normalize(fx.addr)}, other.PublicKey())+"\n"), 0o600))

	tests := []struct {
		name     string
		edit     func(*sftp.Config)
		is       error
		contains string
	}{
		{"password", func(*sftp.Config) {}, nil, ""},
		{"private key", func(c *sftp.Config) { c.Password, c.PrivateKey = "", fx.clientKey }, nil, ""},
		{"known_hosts", func(c *sftp.Config) { c.HostKeyCallback, c.KnownHostsFile = nil, fx.knownHosts }, nil, ""},
		{"no host key check", func(c *sftp.Config) { c.HostKeyCallback = nil }, sftp.ErrNoHostKeyCheck, "KnownHostsFile"},
		{"wrong host key", func(c *sftp.Config) { c.HostKeyCallback = ssh.FixedHostKey(other.PublicKey()) }, nil, "host key"},
		{"host not in known_hosts", func(c *sftp.Config) { c.HostKeyCallback, c.KnownHostsFile = nil, otherHosts }, nil, "is not in sftp.Config.KnownHostsFile"},
		{"host key changed", func(c *sftp.Config) { c.HostKeyCallback, c.KnownHostsFile = nil, wrongHosts }, nil, "does not match the known_hosts entry"},
		{"missing known_hosts file", func(c *sftp.Config) { c.HostKeyCallback, c.KnownHostsFile = nil, "/nonexistent/known_hosts" }, os.ErrNotExist, "KnownHostsFile"},
		{"wrong password", func(c *sftp.Config) { c.Password = "nope" }, nil, "credentials"},
		{"no credentials", func(c *sftp.Config) { c.Password = "" }, sftp.ErrNoAuth, ""},
		{"bad key", func(c *sftp.Config) { c.Password, c.PrivateKey = "", []byte("not a key") }, nil, "sftp.Config.PrivateKey"},
		{"no address", func(c *sftp.Config) { c.Addr = "" }, nil, "sftp.Config.Addr is empty"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := fx.config()
			tc.edit(&cfg)
			s, err := sftp.Dial(context.Background(), cfg)
			if tc.is == nil && tc.contains == "" {
				require.NoError(t, err)
				require.NoError(t, s.Close())
				return
			}
			require.Error(t, err)
			if tc.is != nil {
				assert.ErrorIs(t, err, tc.is)
			}
			assert.ErrorContains(t, err, tc.contains)
		})
	}
}

func TestSFTPDialCanceled(t *testing.T) {
	t.Parallel()
	// A listener that accepts and never speaks: the handshake waits.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var wg sync.WaitGroup
	wg.Go(func() {
		c, err := ln.Accept()
		if err == nil {
			io.Copy(io.Discard, c)
			c.Close()
		}
	})
	defer func() { ln.Close(); wg.Wait() }()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = sftp.Dial(ctx, sftp.Config{Addr: ln.Addr().String(), User: "u", Password: "p", HostKeyCallback: ssh.InsecureIgnoreHostKey()})
	require.Error(t, err)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Less(t, time.Since(start), 10*time.Second)
}

func TestNewestSFTP(t *testing.T) {
	t.Parallel()
	fx := setupSFTP(t)
	t0 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	for i, name := range []string{"contacts_01.csv", "contacts_03.csv", "contacts_02.csv", "other.csv"} {
		p := filepath.Join(fx.dir, "exports", name)
		require.NoError(t, os.WriteFile(p, []byte("email\n"), 0o644))
		mt := t0.Add(time.Duration(i) * time.Hour)
		require.NoError(t, os.Chtimes(p, mt, mt))
	}
	s := dialSFTP(t, fx.config())
	ctx := context.Background()
	got, err := connector.Newest(ctx, s, "exports/contacts_*.csv")
	require.NoError(t, err)
	assert.Equal(t, "exports/contacts_02.csv", got.Name) // the last one written
	_, err = connector.Newest(ctx, s, "exports/leads_*.csv")
	assert.ErrorIs(t, err, connector.ErrNoMatch)
	f, err := s.Open(ctx, got.Name)
	require.NoError(t, err)
	require.NoError(t, f.Close())
	// unchanged by size and time
	_, err = connector.OpenIfChanged(ctx, s, got.Name, got)
	assert.ErrorIs(t, err, connector.ErrNotModified)
}

// TestSFTPStreamsFlat reads a 50 MB file through the in-process server and
// checks that the heap does not grow with the file. Not parallel.
func TestSFTPStreamsFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	fx := setupSFTP(t)
	const size = 50 << 20
	line := "someone@example.com,Some,One,Köln,+4930123456\n"
	big := []byte(strings.Repeat(line, size/len(line)+1)[:size])
	require.NoError(t, os.WriteFile(filepath.Join(fx.dir, "big.csv"), big, 0o644))
	big = nil
	s := dialSFTP(t, fx.config())
	var n int64
	var info connector.FileInfo
	peak := kit.HeapPeak(t, func() {
		f, err := s.Open(context.Background(), "big.csv")
		require.NoError(t, err)
		n, err = io.Copy(io.Discard, struct{ io.Reader }{f})
		require.NoError(t, err)
		info = f.Info()
		require.NoError(t, f.Close())
	})
	assert.Equal(t, int64(size), n)
	assert.NotEmpty(t, info.ContentHash)
	t.Logf("SFTP: 50 MB streamed, heap peak %.1f MiB above the start (client and in-process server)", float64(peak)/(1<<20))
	assert.Less(t, peak, uint64(24<<20), "heap grew with the file")
}

func TestRegister(t *testing.T) {
	t.Parallel()
	fx := setupSFTP(t)
	ctx := context.Background()
	r := connector.NewRegistry()
	require.NoError(t, sftp.Register(r, sftp.Config{KnownHostsFile: fx.knownHosts}))
	assert.Equal(t, []string{"sftp"}, r.Schemes())
	assert.ErrorContains(t, sftp.Register(r, sftp.Config{}), "already registered")

	tests := []struct {
		url, path, contains string
	}{
		{"sftp://" + sftpUser + ":" + sftpPassword + "@" + fx.addr + "/" + filepath.ToSlash(fx.dir) + "/exports/contacts.csv", filepath.ToSlash(fx.dir) + "/exports/contacts.csv", ""},
		{"sftp://" + sftpUser + ":" + sftpPassword + "@" + fx.addr + "/~/exports/contacts.csv", "exports/contacts.csv", ""},
		{"sftp://" + sftpUser + "@" + fx.addr + "/", "", "names no file"},
	}
	for _, tc := range tests {
		t.Run(tc.url, func(t *testing.T) {
			conn, p, err := r.Open(ctx, tc.url)
			if tc.contains != "" {
				assert.ErrorContains(t, err, tc.contains)
				return
			}
			require.NoError(t, err)
			defer conn.(io.Closer).Close()
			assert.Equal(t, tc.path, p)
			src, err := r.OpenSource(ctx, conn, p, connector.SourceConfig{})
			require.NoError(t, err)
			defer src.Close()
			h, err := src.Header(ctx)
			require.NoError(t, err)
			assert.Equal(t, "email,first_name,city", strings.Join(h, ","))
		})
	}

	bare := connector.NewRegistry()
	require.NoError(t, sftp.Register(bare, sftp.Config{}))
	_, _, err := bare.Open(ctx, "sftp://u:p@"+fx.addr+"/x.csv")
	assert.ErrorIs(t, err, sftp.ErrNoHostKeyCheck)
}
