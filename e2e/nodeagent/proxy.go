package nodeagent

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"k8s.io/klog/v2"
)

// backendSet is the current list of ready endpoint addresses ("ip:port") of one service port.
// Readers take a snapshot; the load balancer swaps in a new list when EndpointSlices change.
type backendSet struct {
	addrs atomic.Pointer[[]string]
	next  atomic.Uint64
}

func (b *backendSet) set(addrs []string) { b.addrs.Store(&addrs) }

// order returns the backends starting at the next round-robin position.
func (b *backendSet) order() []string {
	p := b.addrs.Load()
	if p == nil || len(*p) == 0 {
		return nil
	}
	all := *p
	start := int(b.next.Add(1)-1) % len(all)
	return append(append([]string(nil), all[start:]...), all[:start]...)
}

// forwarder accepts traffic on one load-balancer address and port and relays it to a backend.
type forwarder interface {
	close()
}

// tcpForwarder relays each accepted connection to the first backend that accepts a dial,
// trying them in round-robin order.
type tcpForwarder struct {
	ln       net.Listener
	backends *backendSet
	log      klog.Logger
	wg       sync.WaitGroup
}

func newTCPForwarder(ctx context.Context, addr string, b *backendSet) (*tcpForwarder, error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	f := &tcpForwarder{ln: ln, backends: b, log: klog.FromContext(ctx).WithValues("listen", addr, "protocol", "TCP")}
	f.wg.Add(1)
	go f.serve()
	return f, nil
}

func (f *tcpForwarder) serve() {
	defer f.wg.Done()
	for {
		conn, err := f.ln.Accept()
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				f.log.Error(err, "Accepting")
			}
			return
		}
		go f.relay(conn)
	}
}

func (f *tcpForwarder) relay(client net.Conn) {
	defer client.Close()
	var upstream net.Conn
	for _, addr := range f.backends.order() {
		c, err := net.DialTimeout("tcp", addr, 3*time.Second)
		if err != nil {
			f.log.V(4).Info("Backend refused", "backend", addr, "err", err)
			continue
		}
		upstream = c
		break
	}
	if upstream == nil {
		// No ready endpoint: refuse, as a load balancer without healthy targets does.
		if tc, ok := client.(*net.TCPConn); ok {
			_ = tc.SetLinger(0)
		}
		return
	}
	defer upstream.Close()
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) {
		_, _ = io.Copy(dst, src)
		if tc, ok := dst.(*net.TCPConn); ok {
			_ = tc.CloseWrite()
		}
		done <- struct{}{}
	}
	go pipe(upstream, client)
	go pipe(client, upstream)
	<-done
	<-done
}

func (f *tcpForwarder) close() {
	_ = f.ln.Close()
	f.wg.Wait()
}

// udpForwarder relays datagrams: each client address gets its own upstream socket to one
// backend, kept while traffic flows and dropped after an idle timeout.
type udpForwarder struct {
	pc       net.PacketConn
	backends *backendSet
	log      klog.Logger
	idle     time.Duration

	mu       sync.Mutex
	sessions map[string]*net.UDPConn
	wg       sync.WaitGroup
}

func newUDPForwarder(ctx context.Context, addr string, b *backendSet) (*udpForwarder, error) {
	var lc net.ListenConfig
	pc, err := lc.ListenPacket(ctx, "udp", addr)
	if err != nil {
		return nil, err
	}
	f := &udpForwarder{
		pc: pc, backends: b, idle: 30 * time.Second,
		log:      klog.FromContext(ctx).WithValues("listen", addr, "protocol", "UDP"),
		sessions: map[string]*net.UDPConn{},
	}
	f.wg.Add(1)
	go f.serve()
	return f, nil
}

func (f *udpForwarder) serve() {
	defer f.wg.Done()
	buf := make([]byte, 64<<10)
	for {
		n, client, err := f.pc.ReadFrom(buf)
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				f.log.Error(err, "Reading")
			}
			return
		}
		up := f.session(client)
		if up == nil {
			continue
		}
		_, _ = up.Write(buf[:n])
	}
}

// session returns the upstream socket for a client, opening one to the next backend if needed.
func (f *udpForwarder) session(client net.Addr) *net.UDPConn {
	key := client.String()
	f.mu.Lock()
	defer f.mu.Unlock()
	if up, ok := f.sessions[key]; ok {
		_ = up.SetReadDeadline(time.Now().Add(f.idle))
		return up
	}
	backends := f.backends.order()
	if len(backends) == 0 {
		return nil
	}
	raddr, err := net.ResolveUDPAddr("udp", backends[0])
	if err != nil {
		return nil
	}
	up, err := net.DialUDP("udp", nil, raddr)
	if err != nil {
		f.log.V(4).Info("Dialing backend", "backend", backends[0], "err", err)
		return nil
	}
	_ = up.SetReadDeadline(time.Now().Add(f.idle))
	f.sessions[key] = up
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		buf := make([]byte, 64<<10)
		for {
			n, err := up.Read(buf)
			if err != nil {
				break
			}
			_ = up.SetReadDeadline(time.Now().Add(f.idle))
			if _, err := f.pc.WriteTo(buf[:n], client); err != nil {
				break
			}
		}
		f.mu.Lock()
		if f.sessions[key] == up {
			delete(f.sessions, key)
		}
		f.mu.Unlock()
		up.Close()
	}()
	return up
}

func (f *udpForwarder) close() {
	_ = f.pc.Close()
	f.mu.Lock()
	for _, up := range f.sessions {
		_ = up.Close()
	}
	f.mu.Unlock()
	f.wg.Wait()
}
