//go:build linux

package netem

import (
	"container/heap"
	"errors"
	"fmt"
	"io"
	"log"
	"math"
	"math/rand/v2"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

const (
	// MaxDelay bounds Delay and Jitter.
	MaxDelay = time.Hour

	// maxPending is the most packets the kernel holds for the queue
	// (NFQA_CFG_QUEUE_MAXLEN; the kernel's default is 1024). Past it the
	// kernel drops new packets, as a full router buffer would, and counts
	// them in /proc/net/netfilter/nfnetlink_queue.
	maxPending = 65536

	// rcvBufSize is the socket's receive buffer. Each queued packet's
	// metadata is about 100 bytes of message but costs its skb's truesize
	// (under 1 KiB) in the buffer; if the buffer fills anyway the kernel
	// drops the packet and the next read reports ENOBUFS, counted in
	// Stats.Overruns.
	rcvBufSize = 8 << 20

	// readBufSize holds the largest datagram the socket delivers: one
	// packet message, or an error echoing one of our requests.
	readBufSize = 64 << 10

	// maxWriteSize bounds the verdicts sent in one write.
	maxWriteSize = 32 << 10

	// bindTimeout bounds the wait for the kernel's answer to the bind.
	bindTimeout = 5 * time.Second
)

// Config says which queue to serve and what to do to its packets. Only
// Queue is required; the zero value of every other field passes packets
// through unchanged.
type Config struct {
	// Queue is the NFQUEUE number to bind, as given to iptables'
	// --queue-num. Numbers are per network namespace; one socket at a
	// time may bind a number.
	Queue uint16

	// Delay is how long each packet is held before it is accepted, at
	// most MaxDelay. Zero accepts packets as soon as they are read.
	Delay time.Duration

	// Jitter spreads the delay: each packet waits a time drawn uniformly
	// from [Delay-Jitter, Delay+Jitter], cut at zero, so packets can
	// overtake one another. At most MaxDelay; zero means every packet
	// waits exactly Delay.
	Jitter time.Duration

	// Loss is the probability, from 0 to 1, that a packet is dropped
	// (NF_DROP) instead of accepted. A dropped packet is dropped at
	// once, not after the delay. Zero drops none; 1 drops every one.
	Loss float64

	// Seed seeds the random numbers behind Jitter and Loss, for a
	// repeatable sequence of choices. Zero picks a random seed.
	Seed int64

	// Logger receives a "[WARN] netem: ..." line for each overrun, and
	// each message the kernel refused or that could not be parsed. Nil
	// discards them; Stats counts them either way.
	Logger *log.Logger
}

// Validate reports the first field that is out of range.
func (c *Config) Validate() error {
	switch {
	case c.Delay < 0 || c.Delay > MaxDelay:
		return fmt.Errorf("delay %v out of range [0, %v]", c.Delay, MaxDelay)
	case c.Jitter < 0 || c.Jitter > MaxDelay:
		return fmt.Errorf("jitter %v out of range [0, %v]", c.Jitter, MaxDelay)
	case !(c.Loss >= 0 && c.Loss <= 1): // also catches NaN
		return fmt.Errorf("loss %v out of range [0, 1]", c.Loss)
	}
	return nil
}

// Stats counts what a Queue has done since Start. A verdict is counted
// once its write has returned, which may be a moment after the packet it
// released has arrived.
type Stats struct {
	Seen     uint64 // packets read from the queue
	Accepted uint64 // NF_ACCEPT verdicts sent, each after its delay
	Dropped  uint64 // NF_DROP verdicts sent, by Loss
	Pending  int    // packets read whose verdict has not been counted yet

	// Overruns counts the reads that failed with ENOBUFS: the socket's
	// receive buffer was full and the kernel dropped packets that never
	// reached the queue.
	Overruns uint64

	// Errors counts messages the kernel refused (it answers a bad
	// verdict with an error message), verdict writes that failed, and
	// datagrams that could not be parsed.
	Errors uint64
}

// Queue serves one NFQUEUE number: it holds each packet the kernel queues
// for its delay, then sends the verdict. Create it with Start, stop it
// with Close.
type Queue struct {
	num    uint16
	file   *os.File        // the netlink socket, non-blocking, in Go's poller
	conn   syscall.RawConn // file's descriptor, for recvfrom and sendto
	logger *log.Logger
	rng    *rand.Rand // used by the reader only (and by Start before it)

	delay  atomic.Int64  // time.Duration
	jitter atomic.Int64  // time.Duration
	loss   atomic.Uint64 // math.Float64bits of the probability

	seen, accepted, dropped, overruns, errs atomic.Uint64

	heapLock sync.Mutex
	heap     verdictHeap // guarded by heapLock

	// sending counts the verdicts the writer has taken out of the heap
	// and not yet counted as accepted or dropped, so that a packet is
	// always in Pending or in one of those counters.
	sending atomic.Int64

	wakeCh chan struct{} // cap 1; the reader signals a new earliest verdict
	stopCh chan struct{} // closed by Close once the reader has exited

	stopping   atomic.Bool   // set by Close before it wakes the reader
	readerDone chan struct{} // closed when the reader exits
	writerDone chan struct{} // closed when the writer exits
	readErr    error         // why the reader exited; written before readerDone closes

	closeOnce sync.Once
	closeErr  error
}

// kernelAddr returns the netlink address of the kernel. Each send needs
// its own: syscall.Sendto writes its encoding into the value, so one
// shared by the queues of several hosts is a data race.
func kernelAddr() *syscall.SockaddrNetlink {
	return &syscall.SockaddrNetlink{Family: syscall.AF_NETLINK}
}

// Start binds queue cfg.Queue and starts holding its packets.
//
// Start opens the netlink socket on the calling goroutine's current OS
// thread, so the queue belongs to that thread's network namespace (see
// InNetns); it returns once the kernel has accepted the bind. The queue's
// goroutines may then run on any thread. Start copies cfg.
func Start(cfg Config) (*Queue, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	file, err := openSocket()
	if err != nil {
		return nil, err
	}
	conn, err := file.SyscallConn()
	if err != nil {
		_ = file.Close()
		return nil, fmt.Errorf("netlink socket: %w", err)
	}
	logger := cfg.Logger
	if logger == nil {
		logger = log.New(io.Discard, "", 0)
	}
	seed := uint64(cfg.Seed)
	if seed == 0 {
		seed = rand.Uint64()
	}
	q := &Queue{
		num:        cfg.Queue,
		file:       file,
		conn:       conn,
		logger:     logger,
		rng:        rand.New(rand.NewPCG(seed, seed)),
		wakeCh:     make(chan struct{}, 1),
		stopCh:     make(chan struct{}),
		readerDone: make(chan struct{}),
		writerDone: make(chan struct{}),
	}
	q.SetDelay(cfg.Delay, cfg.Jitter)
	q.SetLoss(cfg.Loss)
	if err := q.bind(); err != nil {
		_ = file.Close()
		return nil, fmt.Errorf("bind nfqueue %d: %w", cfg.Queue, err)
	}
	go q.read()
	go q.write()
	return q, nil
}

// openSocket opens a non-blocking nfnetlink socket with a large receive
// buffer and hands it to Go's poller, so reads can be woken by a deadline.
func openSocket() (*os.File, error) {
	fd, err := syscall.Socket(syscall.AF_NETLINK,
		syscall.SOCK_RAW|syscall.SOCK_CLOEXEC|syscall.SOCK_NONBLOCK, syscall.NETLINK_NETFILTER)
	if err != nil {
		return nil, fmt.Errorf("open netlink socket: %w", err)
	}
	// SO_RCVBUFFORCE passes the rmem_max limit and needs CAP_NET_ADMIN,
	// which binding a queue needs anyway; SO_RCVBUF is the fallback.
	if syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_RCVBUFFORCE, rcvBufSize) != nil {
		_ = syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_RCVBUF, rcvBufSize)
	}
	if err := syscall.Bind(fd, &syscall.SockaddrNetlink{Family: syscall.AF_NETLINK}); err != nil {
		_ = syscall.Close(fd)
		return nil, fmt.Errorf("bind netlink socket: %w", err)
	}
	return os.NewFile(uintptr(fd), "nfqueue"), nil
}

// bind sends the config message and waits for its acknowledgement. The
// queue is live as soon as the kernel has applied it, so packets may come
// first; they are scheduled like any other.
func (q *Queue) bind() error {
	const seq = 1
	if err := q.send(appendBind(nil, seq, q.num, maxPending)); err != nil {
		return err
	}
	if err := q.file.SetReadDeadline(time.Now().Add(bindTimeout)); err != nil {
		return err
	}
	buf := make([]byte, readBufSize)
	var msgs []message
	for {
		n, err := q.recv(buf)
		if err != nil {
			return err
		}
		msgs, err = parseMessages(buf[:n], msgs[:0])
		if err != nil {
			return err
		}
		for _, m := range msgs {
			if m.Type == nlmsgError && m.Seq == seq {
				if m.Errno != 0 {
					return m.Errno
				}
				return q.file.SetReadDeadline(time.Time{})
			}
			q.handle(m)
		}
	}
}

// SetDelay changes the delay and jitter of packets read from now on;
// packets already held keep theirs. Values are cut to [0, MaxDelay]. It
// never blocks.
func (q *Queue) SetDelay(delay, jitter time.Duration) {
	q.delay.Store(int64(min(max(delay, 0), MaxDelay)))
	q.jitter.Store(int64(min(max(jitter, 0), MaxDelay)))
}

// SetLoss changes the probability that a packet read from now on is
// dropped. It is cut to [0, 1]; NaN means 0. It never blocks.
func (q *Queue) SetLoss(p float64) {
	if !(p > 0) { // also catches NaN
		p = 0
	}
	q.loss.Store(math.Float64bits(min(p, 1)))
}

// Stats returns the queue's counters. It never blocks for long: it takes
// the heap's lock only to read its length.
func (q *Queue) Stats() Stats {
	q.heapLock.Lock()
	pending := len(q.heap) + int(q.sending.Load())
	q.heapLock.Unlock()
	return Stats{
		Seen:     q.seen.Load(),
		Accepted: q.accepted.Load(),
		Dropped:  q.dropped.Load(),
		Pending:  pending,
		Overruns: q.overruns.Load(),
		Errors:   q.errs.Load(),
	}
}

// Close stops the queue and waits for its goroutines. Packets still held
// are accepted at once, as if their delay had passed; then the socket is
// closed, which unbinds the queue: with --queue-bypass the kernel lets
// later packets through, without it drops them. Close is idempotent and
// returns the error, if any, that stopped the reader early.
func (q *Queue) Close() error {
	q.closeOnce.Do(func() {
		q.stopping.Store(true)
		// A deadline in the past wakes the reader from its read. Should
		// that fail, closing the socket wakes it too, at the cost of the
		// held packets, which the kernel then drops.
		var closeErr error
		closed := false
		if err := q.file.SetReadDeadline(time.Unix(1, 0)); err != nil {
			closeErr, closed = q.file.Close(), true
		}
		<-q.readerDone
		// Only now: the reader no longer adds to the heap, so the
		// writer can release everything in it and be done.
		close(q.stopCh)
		<-q.writerDone
		if !closed {
			closeErr = q.file.Close()
		}
		q.closeErr = errors.Join(q.readErr, closeErr)
	})
	return q.closeErr
}

// read is the reader goroutine: it takes messages off the socket until
// Close, and schedules a verdict for each packet.
func (q *Queue) read() {
	defer close(q.readerDone)
	buf := make([]byte, readBufSize)
	var msgs []message
	for {
		n, err := q.recv(buf)
		switch {
		case err == nil:
		case errors.Is(err, syscall.ENOBUFS):
			q.overruns.Add(1)
			q.logger.Printf("[WARN] netem: queue %d: receive buffer overrun, the kernel dropped packets", q.num)
			continue
		case q.stopping.Load():
			return
		default:
			q.readErr = fmt.Errorf("read nfqueue %d: %w", q.num, err)
			return
		}
		msgs, err = parseMessages(buf[:n], msgs[:0])
		if err != nil {
			q.errs.Add(1)
			q.logger.Printf("[WARN] netem: queue %d: %v", q.num, err)
		}
		for _, m := range msgs {
			q.handle(m)
		}
	}
}

// handle acts on one message: a packet is scheduled, an error counted.
func (q *Queue) handle(m message) {
	switch {
	case m.isPacket():
		q.seen.Add(1)
		q.schedule(m.Packet.ID)
	case m.Type == nlmsgError && m.Errno != 0:
		q.errs.Add(1)
		q.logger.Printf("[WARN] netem: queue %d: kernel refused a message: %v", q.num, m.Errno)
	case m.Type == nlmsgOverrun:
		q.overruns.Add(1)
	}
}

// schedule decides packet id's fate and when it is due, and puts it in
// the heap. Called by the reader only (and by Start before it), since it
// uses q.rng.
func (q *Queue) schedule(id uint32) {
	now := time.Now()
	p := pending{id: id, verdict: verdictAccept, due: now.Add(q.holdTime())}
	if loss := math.Float64frombits(q.loss.Load()); loss > 0 && q.rng.Float64() < loss {
		p.verdict, p.due = verdictDrop, now
	}
	q.heapLock.Lock()
	earliest := len(q.heap) == 0 || p.due.Before(q.heap[0].due)
	heap.Push(&q.heap, p)
	q.heapLock.Unlock()
	if earliest {
		select {
		case q.wakeCh <- struct{}{}:
		default: // a wake-up is already pending
		}
	}
}

// holdTime draws one packet's delay.
func (q *Queue) holdTime() time.Duration {
	d := time.Duration(q.delay.Load())
	if j := q.jitter.Load(); j > 0 {
		d += time.Duration(q.rng.Int64N(2*j+1) - j)
	}
	return max(d, 0)
}

// write is the writer goroutine, the only sender of verdicts: it sleeps
// until the earliest verdict is due or the reader schedules an earlier
// one, and sends all that are due in as few writes as it can.
func (q *Queue) write() {
	defer close(q.writerDone)
	timer := time.NewTimer(MaxDelay)
	defer timer.Stop()
	var due []pending
	var buf []byte
	for {
		var next time.Duration
		due, next = q.takeDue(time.Now(), due[:0])
		if len(due) > 0 {
			buf = q.sendVerdicts(due, buf)
			continue // sending took time: look again
		}
		if next > 0 {
			timer.Reset(next)
		}
		select {
		case <-timer.C:
		case <-q.wakeCh:
		case <-q.stopCh:
			due, _ = q.takeDue(time.Time{}, due[:0])
			q.sendVerdicts(due, buf)
			return
		}
		timer.Stop()
	}
}

// takeDue moves the verdicts due by now out of the heap into dst, and
// returns it with the time until the next one is due, or 0 if none is
// left. A zero now takes them all.
func (q *Queue) takeDue(now time.Time, dst []pending) ([]pending, time.Duration) {
	q.heapLock.Lock()
	defer q.heapLock.Unlock()
	taken := len(dst)
	for len(q.heap) > 0 && (now.IsZero() || !q.heap[0].due.After(now)) {
		dst = append(dst, heap.Pop(&q.heap).(pending))
	}
	q.sending.Add(int64(len(dst) - taken))
	if len(q.heap) == 0 {
		return dst, 0
	}
	return dst, q.heap[0].due.Sub(now)
}

// sendVerdicts sends the verdicts ps, several to a write, and counts them.
// It returns buf for reuse. Called by the writer only.
func (q *Queue) sendVerdicts(ps []pending, buf []byte) []byte {
	for len(ps) > 0 {
		buf = buf[:0]
		var accepted, dropped uint64
		for len(ps) > 0 && len(buf)+verdictMsgLen <= maxWriteSize {
			p := ps[0]
			ps = ps[1:]
			buf = appendVerdict(buf, q.num, p.id, p.verdict)
			if p.verdict == verdictDrop {
				dropped++
			} else {
				accepted++
			}
		}
		if err := q.send(buf); err != nil {
			q.errs.Add(1)
			q.logger.Printf("[WARN] netem: queue %d: send %d verdicts: %v", q.num, accepted+dropped, err)
		} else {
			q.accepted.Add(accepted)
			q.dropped.Add(dropped)
		}
		q.sending.Add(-int64(accepted + dropped))
	}
	return buf
}

// send writes b, one or more requests, to the kernel.
func (q *Queue) send(b []byte) error {
	var err error
	werr := q.conn.Write(func(fd uintptr) bool {
		err = syscall.Sendto(int(fd), b, 0, kernelAddr())
		return err != syscall.EAGAIN
	})
	return errors.Join(werr, err)
}

// recv reads one datagram into buf and returns its length. It honours the
// file's read deadline.
func (q *Queue) recv(buf []byte) (int, error) {
	var n int
	var err error
	rerr := q.conn.Read(func(fd uintptr) bool {
		n, _, err = syscall.Recvfrom(int(fd), buf, 0)
		return err != syscall.EAGAIN
	})
	if rerr != nil {
		return 0, rerr
	}
	return n, err
}

// pending is a verdict waiting to be sent.
type pending struct {
	due     time.Time
	id      uint32
	verdict verdict
}

// verdictHeap orders pending verdicts by due time, earliest first.
type verdictHeap []pending

func (h verdictHeap) Len() int           { return len(h) }
func (h verdictHeap) Less(i, j int) bool { return h[i].due.Before(h[j].due) }
func (h verdictHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *verdictHeap) Push(x any)        { *h = append(*h, x.(pending)) }
func (h *verdictHeap) Pop() any {
	old := *h
	p := old[len(old)-1]
	*h = old[:len(old)-1]
	return p
}
