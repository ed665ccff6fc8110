"""wrn-stream's PyTorch worker: the step of the `worker` engine (io.wrnstream.engine.worker.WorkerEngine), run on the
host's own PyTorch (CPU or CUDA), talking to the JVM over a Unix domain socket.

Usage (the JVM starts it): python3 wrn_worker.py SOCKET_PATH

Protocol: on connecting the worker sends a hello ({"ok": true, "torch": version}, or {"ok": false, "no_torch": true,
"error": ...} and exits when `import torch` fails, so that the JVM tries another interpreter); then one request, one
reply, both framed the same way:
    u32 little-endian  header length H
    H bytes            header, UTF-8 JSON; "bytes" gives the payload length P
    P bytes            payload: little-endian float32 arrays (and int32 labels), concatenated in the order below
Requests ("op"):
    init     model (stem, blocks, head, classes, dropout, input shape), entries (canonical layout: name, kind, shape,
             trainable, decayed), optimiser (momentum, weight_decay), precision, device, threads, channels_last;
             payload: every entry in PyTorch's form (running variance, not log10 std), then the momentum buffers
             b (lr-free) of the trainable entries. Reply: device, versions, the CPU fallback line if any.
    step     n, lr, seed; payload: x [n,C,H,W] float32, labels [n] int32. Reply: loss, finite, compute_s; payload:
             logits [n, classes] float32 (before the update).
    predict  n; payload x. Reply payload: probabilities [n, classes] float32 (inference mode).
    state    Reply payload: the entries then the momentum buffers, as in init.
    memory   Reply: peak_bytes (torch.cuda.max_memory_allocated, null on the CPU); resets the peak.
    close    Reply ok, then the worker exits.
A step's or prediction's payload may instead lie in a shared file the JVM names ("shm", "shm_size", "shm_bytes"
in the header; "bytes" is then 0): the worker maps it once and reads the batch without a copy.
A failure replies {"ok": false, "error": "..."} and the worker goes on.

The network is generated from the block list the JVM sends (Topology.blocks(), the same description the parameter
layout and the in-process libtorch engine iterate); this file holds no topology of its own. The step is the libtorch
engine's: forward (bf16 autocast when asked, fp32 master weights), mean cross-entropy, backward, then without autograd
g += wd*p (BatchNorm per decayBatchNorm), b = mu*b + g, p -= lr*(g + mu*b): PyTorch's SGD(nesterov=True, dampening=0).
A non-finite loss or gradient skips the update and restores BatchNorm's running statistics. Dropout masks come from torch.manual_seed(seed) per step, the seed
derived by the JVM from (config seed, step). Works with PyTorch 1.13 (Debian 12) to 2.11; needs no numpy.
"""
import ctypes
import json
import math
import socket
import struct
import sys
import time

MASK64 = (1 << 64) - 1


def _view(t):
    """A zero-copy byte view of a contiguous CPU tensor (or bytes)."""
    if isinstance(t, (bytes, bytearray)):
        return memoryview(t)
    n = t.numel() * t.element_size()
    if n == 0:
        return memoryview(b"")
    return memoryview((ctypes.c_char * n).from_address(t.data_ptr())).cast("B")


def send(sock, header, payloads=()):
    payloads = [p.contiguous() if hasattr(p, "contiguous") else p for p in payloads]
    header = dict(header, bytes=sum(len(_view(p)) for p in payloads))
    h = json.dumps(header).encode("utf-8")
    sock.sendall(struct.pack("<I", len(h)) + h)
    for p in payloads:
        sock.sendall(_view(p))


def _recv_into(sock, mv):
    got = 0
    while got < len(mv):
        k = sock.recv_into(mv[got:], len(mv) - got)
        if k == 0:
            raise EOFError("the JVM closed the connection")
        got += k


def recv(sock, torch):
    head = bytearray(4)
    _recv_into(sock, memoryview(head))
    (n,) = struct.unpack("<I", head)
    if n > 1 << 24:
        raise ValueError("header of %d bytes exceeds the 16 MiB bound" % n)
    hb = bytearray(n)
    _recv_into(sock, memoryview(hb))
    header = json.loads(hb.decode("utf-8"))
    payload = torch.empty(int(header.get("bytes", 0)), dtype=torch.uint8)
    _recv_into(sock, _view(payload))
    return header, payload


class Worker:
    def __init__(self, torch, h, payload):
        self.torch = torch
        import torch.nn.functional as F
        self.F = F
        if h.get("threads"):
            torch.set_num_threads(int(h["threads"]))
        self.device, self.fallback = self._pick_device(h.get("device", "auto"))
        m = h["model"]
        self.blocks = m["blocks"]
        self.classes, self.dropout = m["classes"], float(m["dropout"])
        self.shape = (m["channels"], m["height"], m["width"])
        self.momentum, self.weight_decay = float(h["momentum"]), float(h["weight_decay"])
        self.bn_eps, self.bn_momentum = float(h["bn_eps"]), float(h["bn_momentum"])
        self.bf16 = h["precision"] == "bf16"
        self.channels_last = bool(h.get("channels_last", self.bf16))
        self.entries = h["entries"]
        floats = payload.view(torch.float32)
        total = sum(_numel(e["shape"]) for e in self.entries)
        trainable = [e for e in self.entries if e["trainable"]]
        buffers = sum(_numel(e["shape"]) for e in trainable) if self.momentum > 0 else 0
        if floats.numel() != total + buffers:
            raise ValueError("init payload of %d floats, expected %d parameters + %d momentum values"
                             % (floats.numel(), total, buffers))
        self.p, off = {}, 0
        for e in self.entries:
            self.p[e["name"]] = self._tensor(floats, off, e["shape"], e["trainable"])
            off += _numel(e["shape"])
        self.b = {}
        if self.momentum > 0:
            for e in trainable:
                self.b[e["name"]] = self._tensor(floats, off, e["shape"], False)
                off += _numel(e["shape"])
        self.forward = self._forward
        if h.get("compile") and hasattr(torch, "compile"):
            self.forward = torch.compile(self._forward)
        if self.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(self.device)

    def _pick_device(self, spec):
        torch = self.torch
        if spec == "cpu":
            return torch.device("cpu"), None
        if torch.cuda.is_available():
            return torch.device("cuda:0" if spec in ("auto", "cuda") else spec), None
        build = ("CUDA " + torch.version.cuda) if torch.version.cuda else "a CPU-only build"
        if spec == "auto":
            return torch.device("cpu"), ("PyTorch %s (%s) sees no CUDA device: training on the CPU"
                                         % (torch.__version__, build))
        raise RuntimeError("device=%s, but PyTorch %s (%s) sees no CUDA device" % (spec, torch.__version__, build))

    def info(self):
        torch = self.torch
        cuda = self.device.type == "cuda"
        return {"device": str(self.device),
                "device_name": torch.cuda.get_device_name(self.device) if cuda else "cpu",
                "torch": torch.__version__, "cuda": torch.version.cuda, "python": sys.version.split()[0],
                "threads": torch.get_num_threads(), "fallback": self.fallback}

    def _tensor(self, floats, off, shape, grad):
        t = floats[off:off + _numel(shape)].view(shape).clone().to(self.device)
        if self.channels_last and len(shape) == 4:
            t = t.contiguous(memory_format=self.torch.channels_last)
        return t.requires_grad_(grad)

    def _bn(self, x, layer, train):
        p = self.p
        return self.F.batch_norm(x, p[layer + "_mean"], p[layer + "_log10stdev"], p[layer + "_gamma"], p[layer + "_beta"],
                                 train, self.bn_momentum, self.bn_eps)

    def _forward(self, x, train):
        F, p = self.F, self.p
        h = F.conv2d(x, p["stem.conv_W"], None, 1, 1)
        for b in self.blocks:
            n, s = b["name"], b["stride"]
            a1 = F.relu(self._bn(h, n + ".bn1", train))
            y = F.conv2d(a1, p[n + ".conv1_W"], None, s, 1)
            y = F.relu(self._bn(y, n + ".bn2", train))
            if self.dropout > 0 and train:
                y = F.dropout(y, self.dropout, True)
            y = F.conv2d(y, p[n + ".conv2_W"], None, 1, 1)
            h = y + (F.conv2d(a1, p[n + ".shortcut_W"], None, s, 0) if b["projection"] else h)
        h = F.relu(self._bn(h, "head.bn", train))
        return F.linear(h.mean((2, 3)), p["output_W"], p["output_b"])

    def _input(self, payload, n):
        c, hh, w = self.shape
        x = payload[:4 * n * c * hh * w].view(self.torch.float32).view(n, c, hh, w).to(self.device)
        if self.channels_last:
            x = x.contiguous(memory_format=self.torch.channels_last)
        return x

    def _autocast(self):
        return self.torch.autocast(device_type=self.device.type, dtype=self.torch.bfloat16, enabled=self.bf16)

    def step(self, h, payload):
        torch, F = self.torch, self.F
        n = int(h["n"])
        t0 = time.perf_counter()
        torch.manual_seed(int(h["seed"]) & MASK64)
        x = self._input(payload, n)
        y = payload[4 * n * _numel(self.shape):].view(torch.int32).to(self.device).long()
        # batch_norm(training) updates the running statistics in the forward pass, before the finite check below
        with torch.no_grad():
            saved = {e["name"]: self.p[e["name"]].clone() for e in self.entries if not e["trainable"]}
        with self._autocast():
            out = self.forward(x, True).float()
        loss = F.nll_loss(F.log_softmax(out, 1), y)
        loss.backward()
        value = loss.item()
        lr = float(h["lr"])
        with torch.no_grad():
            grads = [self.p[e["name"]].grad for e in self.entries if e["trainable"]]
            finite = math.isfinite(value) and math.isfinite(sum(g.sum() for g in grads if g is not None).item())
            if finite:
                for e in self.entries:
                    if not e["trainable"]:
                        continue
                    p = self.p[e["name"]]
                    g = p.grad
                    if g is None:
                        continue
                    if self.weight_decay > 0 and e["decayed"]:
                        g.add_(p, alpha=self.weight_decay)
                    if self.momentum > 0:
                        b = self.b[e["name"]]
                        b.mul_(self.momentum).add_(g)
                        g.add_(b, alpha=self.momentum)
                    p.add_(g, alpha=-lr)
            else:  # the skipped step must not leave its batch in the running statistics
                for name, t in saved.items():
                    self.p[name].copy_(t)
            for e in self.entries:
                if e["trainable"]:
                    self.p[e["name"]].grad = None
        logits = out.detach().cpu()
        return {"ok": True, "loss": value, "finite": finite, "compute_s": time.perf_counter() - t0}, logits

    def predict(self, h, payload):
        torch = self.torch
        with torch.no_grad(), self._autocast():
            out = self.forward(self._input(payload, int(h["n"])), False)
        return out.float().softmax(1).cpu()

    def state(self):
        torch = self.torch
        with torch.no_grad():
            arrays = [self.p[e["name"]].detach().reshape(-1) for e in self.entries]
            arrays += [self.b[e["name"]].reshape(-1) for e in self.entries if e["name"] in self.b]
            return torch.cat(arrays).float().cpu()

    def memory(self):
        torch = self.torch
        if self.device.type != "cuda":
            return {"ok": True, "peak_bytes": None}
        peak = torch.cuda.max_memory_allocated(self.device)
        torch.cuda.reset_peak_memory_stats(self.device)
        return {"ok": True, "peak_bytes": peak}


class Shm:
    """The JVM's shared batch file, mapped once per file (the JVM makes a new, larger one when a batch outgrows it)."""

    def __init__(self, torch):
        self.torch, self.path, self.map, self.base = torch, None, None, None

    def view(self, path, size, nbytes):
        if path != self.path:
            import mmap
            if self.map is not None:
                self.base = None
                try:
                    self.map.close()
                except BufferError:  # a tensor still views it: let the garbage collector unmap it
                    pass
            with open(path, "r+b") as f:
                self.map = mmap.mmap(f.fileno(), size)
            self.base = self.torch.frombuffer(self.map, dtype=self.torch.uint8)
            self.path = path
        if nbytes > self.base.numel():
            raise ValueError("shared batch of %d bytes exceeds the %d-byte mapping" % (nbytes, self.base.numel()))
        return self.base[:nbytes]


def _numel(shape):
    n = 1
    for s in shape:
        n *= int(s)
    return n


def main():
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(sys.argv[1])
    try:
        import torch
    except Exception as e:  # the JVM tries the next python
        send(sock, {"ok": False, "no_torch": True, "python": sys.executable,
                    "error": "%s has no PyTorch (%s: %s)" % (sys.executable, type(e).__name__, e)})
        return 3
    send(sock, {"ok": True, "torch": torch.__version__})  # hello: this interpreter serves
    worker = None
    shm = Shm(torch)
    while True:
        try:
            header, payload = recv(sock, torch)
        except EOFError:
            return 0
        op = header.get("op")
        try:
            if header.get("shm_bytes"):
                payload = shm.view(header["shm"], int(header["shm_size"]), int(header["shm_bytes"]))
            if op == "init":
                worker = Worker(torch, header, payload)
                send(sock, dict(ok=True, **worker.info()))
            elif op == "close":
                send(sock, {"ok": True})
                return 0
            elif worker is None:
                raise RuntimeError("'%s' before 'init'" % op)
            elif op == "step":
                reply, logits = worker.step(header, payload)
                send(sock, reply, [logits])
            elif op == "predict":
                send(sock, {"ok": True}, [worker.predict(header, payload)])
            elif op == "state":
                send(sock, {"ok": True}, [worker.state()])
            elif op == "memory":
                send(sock, worker.memory())
            else:
                raise ValueError("unknown op '%s'" % op)
        except Exception as e:
            send(sock, {"ok": False, "error": "%s: %s" % (type(e).__name__, e)})


if __name__ == "__main__":
    sys.exit(main())
