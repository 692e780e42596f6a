// pgx (v4, Debian's golang-github-jackc-pgx-v4-dev) under transaction pooling. Run by
// tests/integration/test_transaction_pooling.py:
//
//	go run txn_pool.go <connection string> <scratch table> <clients> <transactions per client> <active>
//
// pgx's statement cache is on (statement_cache_mode=prepare, its default): the first time a
// connection runs a text, pgx prepares it under a name of its own (Parse + Describe) and from
// then on only binds and executes that name. Connects every client (100 connection attempts
// at a time), then runs them all: each does <transactions> transactions of the same
// statements as the other drivers' programs (one whose text differs per client), then one
// transaction that fails on purpose and is rolled back. At most <active> clients are inside
// a transaction at once. Prints one JSON object with counts, the same fields as
// node/txn_pool.js; the pytest test checks them and the rows left in the table.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgconn"
	"github.com/jackc/pgx/v4"
)

const wave = 100
const maxErrorsShown = 10

type counts struct {
	Clients                   int      `json:"clients"`
	Connected                 int      `json:"connected"`
	Transactions              int      `json:"transactions"`
	ExpectedErrors            int      `json:"expectedErrors"`
	Errors                    int      `json:"errors"`
	FirstErrors               []string `json:"firstErrors"`
	PidMismatches             int      `json:"pidMismatches"`
	EchoMismatches            int      `json:"echoMismatches"`
	MineMismatches            int      `json:"mineMismatches"`
	ClientsOnSeveralUpstreams int      `json:"clientsOnSeveralUpstreams"`
	AfterErrorOk              int      `json:"afterErrorOk"`
}

type run struct {
	mu     sync.Mutex
	out    counts
	table  string
	txns   int
	active chan struct{}
}

func (r *run) add(f func(c *counts)) {
	r.mu.Lock()
	f(&r.out)
	r.mu.Unlock()
}

func (r *run) fail(where string, err error) {
	r.add(func(c *counts) {
		c.Errors++
		if len(c.FirstErrors) < maxErrorsShown {
			c.FirstErrors = append(c.FirstErrors, fmt.Sprintf("%s: %v", where, err))
		}
	})
}

// One transaction of the common statements; true when it committed.
func (r *run) transaction(ctx context.Context, i, t int, c *pgx.Conn, seen map[int32]bool) error {
	id := i*100 + t
	tx, err := c.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx) // no-op after Commit
	var p1, p2 int32
	if err := tx.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&p1); err != nil {
		return err
	}
	ins := fmt.Sprintf("INSERT INTO %s (id, v) VALUES ($1, $2)", r.table)
	if _, err := tx.Exec(ctx, ins, id, fmt.Sprintf("pgx-%d", i)); err != nil {
		return err
	}
	var n int32
	var s string
	if err := tx.QueryRow(ctx, "SELECT $1::int, $2::text", id, fmt.Sprintf("e%d", i)).Scan(&n, &s); err != nil {
		return err
	}
	if int(n) != id || s != fmt.Sprintf("e%d", i) {
		r.add(func(c *counts) { c.EchoMismatches++ })
	}
	var me int32
	if err := tx.QueryRow(ctx, fmt.Sprintf("SELECT %d::int AS me", i)).Scan(&me); err != nil {
		return err
	}
	if int(me) != i {
		r.add(func(c *counts) { c.MineMismatches++ })
	}
	if err := tx.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&p2); err != nil {
		return err
	}
	if p1 != p2 {
		r.add(func(c *counts) { c.PidMismatches++ })
	}
	if err := tx.Commit(ctx); err != nil {
		return err
	}
	seen[p1] = true
	r.add(func(c *counts) { c.Transactions++ })
	return nil
}

// A transaction that fails: its insert must not survive, the client must recover.
func (r *run) failing(ctx context.Context, i int, c *pgx.Conn) {
	tx, err := c.Begin(ctx)
	if err != nil {
		r.fail(fmt.Sprintf("client %d error transaction", i), err)
		return
	}
	ins := fmt.Sprintf("INSERT INTO %s (id, v) VALUES ($1, $2)", r.table)
	if _, err := tx.Exec(ctx, ins, i*100+99, "rolled back"); err != nil {
		r.fail(fmt.Sprintf("client %d error transaction", i), err)
	}
	var q int32
	err = tx.QueryRow(ctx, "SELECT 1 / $1::int", 0).Scan(&q)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "22012" {
		r.add(func(c *counts) { c.ExpectedErrors++ })
	} else {
		r.fail(fmt.Sprintf("client %d division", i), fmt.Errorf("want 22012, got %v", err))
	}
	if err := tx.Rollback(ctx); err != nil {
		r.fail(fmt.Sprintf("client %d rollback", i), err)
	}
	var n int32
	var s string
	err1 := c.QueryRow(ctx, "SELECT $1::int, $2::text", i, "after").Scan(&n, &s)
	err2 := c.QueryRow(ctx, "SELECT 1 / $1::int", 1).Scan(&q)
	if err1 == nil && err2 == nil && int(n) == i && s == "after" && q == 1 {
		r.add(func(c *counts) { c.AfterErrorOk++ })
	} else {
		r.fail(fmt.Sprintf("client %d after error", i), fmt.Errorf("%v %v %d %q %d", err1, err2, n, s, q))
	}
}

func (r *run) work(ctx context.Context, i int, c *pgx.Conn) {
	seen := map[int32]bool{}
	for t := 0; t < r.txns; t++ {
		r.active <- struct{}{}
		if err := r.transaction(ctx, i, t, c, seen); err != nil {
			r.fail(fmt.Sprintf("client %d txn %d", i, t), err)
		}
		<-r.active
	}
	if len(seen) > 1 {
		r.add(func(c *counts) { c.ClientsOnSeveralUpstreams++ })
	}
	r.active <- struct{}{}
	r.failing(ctx, i, c)
	<-r.active
}

func main() {
	if len(os.Args) != 6 {
		fmt.Fprintln(os.Stderr, "usage: txn_pool <dsn> <table> <clients> <txns> <active>")
		os.Exit(2)
	}
	nClients, _ := strconv.Atoi(os.Args[3])
	nTxns, _ := strconv.Atoi(os.Args[4])
	nActive, _ := strconv.Atoi(os.Args[5])
	r := &run{table: os.Args[2], txns: nTxns, active: make(chan struct{}, nActive)}
	r.out.Clients = nClients
	r.out.FirstErrors = []string{}
	ctx, cancel := context.WithTimeout(context.Background(), 140*time.Second)
	defer cancel()
	cfg, err := pgx.ParseConfig(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "bad connection string:", err)
		os.Exit(1)
	}
	cfg.ConnectTimeout = 30 * time.Second

	conns := make([]*pgx.Conn, nClients)
	for start := 0; start < nClients; start += wave {
		var wg sync.WaitGroup
		for i := start; i < nClients && i < start+wave; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				c, err := pgx.ConnectConfig(ctx, cfg)
				if err != nil {
					r.fail(fmt.Sprintf("connect %d", i), err)
					return
				}
				conns[i] = c
				r.add(func(c *counts) { c.Connected++ })
			}(i)
		}
		wg.Wait()
	}
	var wg sync.WaitGroup
	for i, c := range conns {
		if c == nil {
			continue
		}
		wg.Add(1)
		go func(i int, c *pgx.Conn) {
			defer wg.Done()
			r.work(ctx, i, c)
		}(i, c)
	}
	wg.Wait()
	for i, c := range conns {
		if c != nil {
			if err := c.Close(ctx); err != nil {
				r.fail(fmt.Sprintf("close %d", i), err)
			}
		}
	}
	b, _ := json.Marshal(r.out)
	fmt.Println(string(b))
}
