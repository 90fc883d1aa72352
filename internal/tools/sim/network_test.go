package sim

import (
	"errors"
	"io"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hashicorp/memberlist"
)

func addr(t *Transport) memberlist.Address { return memberlist.Address{Addr: t.Addr()} }

// twoTransports makes a network of link and two transports on it, which
// are shut down, and the network waited for, when the test ends. Called
// in a synctest bubble, it cleans up in the bubble.
func twoTransports(t *testing.T, link Link) (n *Network, a, b *Transport) {
	n = NewNetwork(link)
	a, b = n.NewTransport(), n.NewTransport()
	t.Cleanup(n.Wait)
	t.Cleanup(func() { _ = a.Shutdown() })
	t.Cleanup(func() { _ = b.Shutdown() })
	return n, a, b
}

func TestPacketDelivery(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, a, b := twoTransports(t, Link{Delay: 10 * time.Millisecond})

		start := time.Now()
		if _, err := a.WriteToAddress([]byte("hello"), addr(b)); err != nil {
			t.Fatalf("WriteToAddress() error: %v", err)
		}
		p := <-b.PacketCh()
		if got := string(p.Buf); got != "hello" {
			t.Errorf("packet = %q, want %q", got, "hello")
		}
		if got := time.Since(start); got != 10*time.Millisecond {
			t.Errorf("packet took %v, want 10ms", got)
		}
		if got := p.From.String(); got != a.Addr() {
			t.Errorf("packet from %s, want %s", got, a.Addr())
		}
		if !p.Timestamp.Equal(time.Now()) {
			t.Errorf("packet timestamp %v, want the arrival time %v", p.Timestamp, time.Now())
		}
	})
}

func TestPacketLossAndJitter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n, a, b := twoTransports(t, Link{Delay: 5 * time.Millisecond, Jitter: 5 * time.Millisecond, Loss: 0.2})
		const sent = 2000
		start := time.Now()
		for range sent {
			if _, err := a.WriteToAddress([]byte{0}, addr(b)); err != nil {
				t.Fatal(err)
			}
		}
		got := 0
		for range sent {
			synctest.Wait()
			select {
			case <-b.PacketCh():
				got++
				continue
			default:
			}
			time.Sleep(time.Millisecond)
		}
		if el := time.Since(start); got == 0 || el < 5*time.Millisecond {
			t.Fatalf("received %d packets after %v", got, el)
		}
		if got < sent*70/100 || got > sent*90/100 {
			t.Errorf("received %d of %d packets with 20%% loss", got, sent)
		}
		st := n.Stats()
		if st.Lost+st.Delivered != sent {
			t.Errorf("lost %d + delivered %d != sent %d", st.Lost, st.Delivered, sent)
		}
	})
}

func TestSilenceAndShutdown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := NewNetwork(Link{Delay: time.Millisecond})
		a, b := n.NewTransport(), n.NewTransport()
		defer n.Wait()
		defer a.Shutdown()

		b.Silence()
		a.WriteToAddress([]byte("x"), addr(b))
		b.WriteToAddress([]byte("y"), addr(a))
		time.Sleep(time.Second)
		synctest.Wait()
		select {
		case p := <-b.PacketCh():
			t.Errorf("silent node received %q", p.Buf)
		case p := <-a.PacketCh():
			t.Errorf("received %q from a silent node", p.Buf)
		default:
		}
		start := time.Now()
		if _, err := a.DialAddressTimeout(addr(b), 3*time.Second); !errors.Is(err, ErrUnreachable) {
			t.Errorf("dial to a silent node: error %v, want ErrUnreachable", err)
		}
		if got := time.Since(start); got != 3*time.Second {
			t.Errorf("dial to a silent node failed after %v, want the 3s timeout", got)
		}

		b.Shutdown()
		b.Shutdown() // idempotent
		if _, err := b.WriteToAddress([]byte("z"), addr(a)); !errors.Is(err, ErrClosed) {
			t.Errorf("write after Shutdown: error %v, want ErrClosed", err)
		}
		// A packet in flight to a node that shuts down is discarded and its
		// delivery goroutine ends (n.Wait would block otherwise).
		c := n.NewTransport()
		a.WriteToAddress([]byte("late"), addr(c))
		c.Shutdown()
	})
}

func TestStream(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, a, b := twoTransports(t, Link{Delay: 20 * time.Millisecond})

		done := make(chan string)
		go func() {
			conn := <-b.StreamCh()
			buf := make([]byte, 4)
			if _, err := io.ReadFull(conn, buf); err != nil {
				done <- err.Error()
				return
			}
			conn.Write([]byte("pong"))
			conn.Close()
			done <- string(buf)
		}()
		start := time.Now()
		conn, err := a.DialAddressTimeout(addr(b), time.Second)
		if err != nil {
			t.Fatalf("DialAddressTimeout() error: %v", err)
		}
		if got := time.Since(start); got != 40*time.Millisecond {
			t.Errorf("dial took %v, want one round trip (40ms)", got)
		}
		if _, err := conn.Write([]byte("ping")); err != nil {
			t.Fatalf("Write() error: %v", err)
		}
		reply, err := io.ReadAll(conn)
		if err != nil || string(reply) != "pong" {
			t.Errorf("reply = %q, %v; want \"pong\"", reply, err)
		}
		if got := <-done; got != "ping" {
			t.Errorf("server read %q, want \"ping\"", got)
		}
		if got := time.Since(start); got != 80*time.Millisecond {
			t.Errorf("exchange took %v, want two round trips (80ms)", got)
		}
		conn.Close()
	})
}
