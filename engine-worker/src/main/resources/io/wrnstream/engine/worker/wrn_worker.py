"""wrn-stream's PyTorch worker: the step of the `worker` engine (io.wrnstream.engine.worker.WorkerEngine), run on the
host's own PyTorch (CPU or CUDA), talking to the JVM over a Unix domain socket.

Usage (the JVM starts it): python3 wrn_worker.py SOCKET_PATH

Protocol "wrn-stream.worker/2" (PROTOCOL below; 1 had no data-parallel ops and no version in the hello): on connecting
the worker sends a hello ({"ok": true, "torch": version, "protocol": PROTOCOL}, or {"ok": false, "no_torch": true,
"error": ...} and exits when `import torch` fails, so that the JVM tries another interpreter); the JVM refuses a
protocol it does not speak. Then one request, one reply, both framed the same way:
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
Data-parallel ops (io.wrnstream.engine.worker.WorkerGroup; AbstractEngine.trainStep(shares, signals, group) in Java
documents the step). A worker hosts at most one group, before or after its init:
    group_store  rank, size, host, port, generation, timeout_ms, device (auto|cpu|cuda|cuda:N): rank 0 hosts a
                 c10d TCPStore on port (0: any free one), the others connect to host:port; keys under a PrefixStore
                 named generation. Reply: port, device, backend (gloo on the CPU, nccl on CUDA).
    group_join   torch.distributed over that store (timeout timeout_ms); blocks until every rank joined (a one-element
                 all-reduce). Reply ok.
    group_add    key, amount: the store's atomic add. Reply: value (the count after it).
    group_close  Leaves the group (destroy_process_group). Reply ok.
    accumulate   sizes [k], seeds [k] (share i's dropout seed, as an unsigned decimal); payload: the shares' x then
                 their labels, concatenated. From the step's starting BatchNorm statistics, per share: forward,
                 backward of n_i * mean loss (gradients summed), running statistics summed n_i-weighted. Reply:
                 losses [k] (each share's mean loss), compute_s; payload: the shares' logits [sum n_i, classes].
    exchange     ranks, loss_sum, correct, table [int64, (1 + fields) x ranks: images by rank, then each signal field
                 by rank, this rank's column filled, the rest 0]. All-reduces (sums) the table, then, when any rank had
                 images, [gradients | BatchNorm statistics | loss_sum, correct] in one float32 buffer. Reply: table,
                 images, loss_sum, correct, finite (loss sum and gradient sum finite), exchange_s.
    apply        lr, images, finite: gradients and statistics divided by images; when finite the SGD update and the
                 averaged statistics, else the step's starting statistics. Reply ok.
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
import datetime
import json
import math
import os
import socket
import struct
import sys
import time

MASK64 = (1 << 64) - 1
PROTOCOL = "wrn-stream.worker/2"


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


def pick_device(torch, spec):
    """The device `spec` (auto|cpu|cuda|cuda:N) names on this PyTorch, and the CPU fallback line when auto finds no GPU."""
    if spec == "cpu":
        return torch.device("cpu"), None
    if torch.cuda.is_available():
        return torch.device("cuda:0" if spec in ("auto", "cuda") else spec), None
    build = ("CUDA " + torch.version.cuda) if torch.version.cuda else "a CPU-only build"
    if spec == "auto":
        return torch.device("cpu"), ("PyTorch %s (%s) sees no CUDA device: training on the CPU"
                                     % (torch.__version__, build))
    raise RuntimeError("device=%s, but PyTorch %s (%s) sees no CUDA device" % (spec, torch.__version__, build))


class Worker:
    def __init__(self, torch, h, payload):
        self.torch = torch
        import torch.nn.functional as F
        self.F = F
        if h.get("threads"):
            torch.set_num_threads(int(h["threads"]))
        self.device, self.fallback = pick_device(torch, h.get("device", "auto"))
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
        self.flat = None  # the data-parallel buffers, allocated on the first group step
        self.forward = self._forward
        if h.get("compile") and hasattr(torch, "compile"):
            self.forward = torch.compile(self._forward)
        if self.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(self.device)

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
                self._update(lr, grads)
            else:  # the skipped step must not leave its batch in the running statistics
                for name, t in saved.items():
                    self.p[name].copy_(t)
            for e in self.entries:
                if e["trainable"]:
                    self.p[e["name"]].grad = None
        logits = out.detach().cpu()
        return {"ok": True, "loss": value, "finite": finite, "compute_s": time.perf_counter() - t0}, logits

    def _update(self, lr, grads):
        """g += wd*p, b = mu*b + g, p -= lr*(g + mu*b), grads[i] the gradient of the i-th trainable entry (None: skip)."""
        for e, g in zip(self._trainable(), grads):
            if g is None:
                continue
            p = self.p[e["name"]]
            if self.weight_decay > 0 and e["decayed"]:
                g.add_(p, alpha=self.weight_decay)
            if self.momentum > 0:
                b = self.b[e["name"]]
                b.mul_(self.momentum).add_(g)
                g.add_(b, alpha=self.momentum)
            p.add_(g, alpha=-lr)

    def _trainable(self):
        return [e for e in self.entries if e["trainable"]]

    # --- data-parallel step: accumulate, exchange, apply (see the module docstring) ---------------------------------

    def _exchange_buffers(self):
        """[gradients | BatchNorm statistics | loss sum, correct] and the step's starting statistics, allocated once."""
        if self.flat is None:
            self.stats = [e for e in self.entries if not e["trainable"]]
            self.grad_len = sum(_numel(e["shape"]) for e in self._trainable())
            self.stat_len = sum(_numel(e["shape"]) for e in self.stats)
            self.flat = self.torch.zeros(self.grad_len + self.stat_len + 2, device=self.device)
            self.start_stats = self.torch.zeros(self.stat_len, device=self.device)
        return self.flat

    def _copy_stats(self, flat, to_flat):
        off = 0
        for e in self.stats:
            n, t = _numel(e["shape"]), self.p[e["name"]]
            if to_flat:
                flat[off:off + n].copy_(t.reshape(-1))
            else:
                t.copy_(flat[off:off + n].view(t.shape))
            off += n

    def accumulate(self, h, payload):
        torch, F = self.torch, self.F
        sizes = [int(n) for n in h["sizes"]]
        seeds = [int(s) & MASK64 for s in h["seeds"]]
        if len(seeds) != len(sizes):
            raise ValueError("accumulate: %d seeds for %d shares" % (len(seeds), len(sizes)))
        total = sum(sizes)
        t0 = time.perf_counter()
        flat = self._exchange_buffers()
        x_all = self._input(payload, total)
        off_y = 4 * total * _numel(self.shape)
        y_all = payload[off_y:off_y + 4 * total].view(torch.int32).to(self.device).long()
        with torch.no_grad():
            self._copy_stats(self.start_stats, True)
            flat.zero_()
        stat_sum = flat[self.grad_len:self.grad_len + self.stat_len]
        losses, logits, off = [], [], 0
        for n, seed in zip(sizes, seeds):
            if n == 0:
                losses.append(0.0)
                continue
            torch.manual_seed(seed)
            with torch.no_grad():
                self._copy_stats(self.start_stats, False)  # every share starts from the step's statistics
            with self._autocast():
                out = self.forward(x_all[off:off + n], True).float()
            loss = F.nll_loss(F.log_softmax(out, 1), y_all[off:off + n])
            (loss * n).backward()  # autograd sums the shares' gradients
            losses.append(loss.item())
            logits.append(out.detach())
            with torch.no_grad():
                s_off = 0
                for e in self.stats:
                    k = _numel(e["shape"])
                    stat_sum[s_off:s_off + k].add_(self.p[e["name"]].reshape(-1), alpha=n)
                    s_off += k
            off += n
        with torch.no_grad():
            g_off = 0
            for e in self._trainable():
                k, p = _numel(e["shape"]), self.p[e["name"]]
                if p.grad is not None:
                    flat[g_off:g_off + k].copy_(p.grad.reshape(-1))
                p.grad = None
                g_off += k
            self._copy_stats(self.start_stats, False)  # until the exchange decides: the step's starting statistics
        out = torch.cat(logits).cpu() if logits else torch.empty(0)
        return {"ok": True, "losses": losses, "compute_s": time.perf_counter() - t0}, out

    def exchange(self, h, group):
        torch = self.torch
        ranks = int(h["ranks"])
        if ranks > 1 and (group is None or group.size != ranks):
            raise RuntimeError("exchange over %d ranks, but this worker %s" % (
                ranks, "joined no group" if group is None else "is in a group of %d" % group.size))
        t0 = time.perf_counter()
        flat = self._exchange_buffers()
        last = self.grad_len + self.stat_len
        table = torch.tensor([int(v) for v in h["table"]], dtype=torch.int64)
        flat[last] = float(h["loss_sum"])
        flat[last + 1] = float(h["correct"])
        if ranks > 1:
            table = group.all_reduce(table.to(self.device), "the image counts and signals").cpu()
        table = table.tolist()
        images = sum(table[:ranks])
        reply = {"ok": True, "table": table, "images": images}
        if images == 0:
            return dict(reply, exchange_s=time.perf_counter() - t0)
        if ranks > 1:
            group.all_reduce(flat, "the gradients")
        loss_sum, correct = flat[last:last + 2].tolist()
        finite = math.isfinite(loss_sum) and math.isfinite(flat[:self.grad_len].sum().item())
        return dict(reply, loss_sum=loss_sum, correct=correct, finite=finite, exchange_s=time.perf_counter() - t0)

    def apply(self, h):
        torch = self.torch
        flat, images = self._exchange_buffers(), int(h["images"])
        last = self.grad_len + self.stat_len
        with torch.no_grad():
            if h["finite"]:
                flat[:last].div_(images)
                grads, off = [], 0
                for e in self._trainable():
                    k = _numel(e["shape"])
                    grads.append(flat[off:off + k].view(e["shape"]))
                    off += k
                self._update(float(h["lr"]), grads)
                self._copy_stats(flat[self.grad_len:last], False)
            else:
                self._copy_stats(self.start_stats, False)
        return {"ok": True}

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


class Group:
    """This worker's membership of a data-parallel group: a c10d TCPStore (rank 0 hosts it), a PrefixStore per
    generation, torch.distributed over it (gloo on the CPU, nccl on CUDA), every wait bounded by the timeout."""

    def __init__(self, torch, h):
        import torch.distributed as dist
        self.torch, self.dist = torch, dist
        self.rank, self.size = int(h["rank"]), int(h["size"])
        self.generation = h["generation"]
        self.timeout = datetime.timedelta(milliseconds=int(h["timeout_ms"]))
        self.device, _ = pick_device(torch, h.get("device", "auto"))
        self.backend = "nccl" if self.device.type == "cuda" else "gloo"
        if not dist.is_available() or (self.backend == "nccl" and not dist.is_nccl_available()) \
                or (self.backend == "gloo" and not dist.is_gloo_available()):
            raise RuntimeError("PyTorch %s has no %s backend for a group on %s" % (torch.__version__, self.backend, self.device))
        if self.backend == "nccl":
            torch.cuda.set_device(self.device)
            # NCCL waits forever unless told to honour the timeout (the variable was renamed in PyTorch 2.2)
            os.environ.setdefault("TORCH_NCCL_BLOCKING_WAIT", "1")
            os.environ.setdefault("NCCL_BLOCKING_WAIT", "1")
        self.store = dist.TCPStore(h["host"], int(h["port"]), self.size, self.rank == 0, self.timeout,
                                   wait_for_workers=False)
        self.prefixed = dist.PrefixStore(self.generation, self.store)
        self.joined = False

    def info(self):
        return {"ok": True, "port": self.store.port, "device": str(self.device), "backend": self.backend}

    def join(self):
        self.dist.init_process_group(self.backend, store=self.prefixed, rank=self.rank, world_size=self.size,
                                     timeout=self.timeout)
        self.joined = True
        # NCCL connects lazily: one collective makes "joined" mean every rank is there
        t = self.all_reduce(self.torch.ones(1, device=self.device), "the join check")
        if int(t.item()) != self.size:
            raise RuntimeError("join check summed to %d over a group of %d" % (int(t.item()), self.size))
        return {"ok": True}

    def all_reduce(self, t, what):
        if not self.joined:
            raise RuntimeError("group %s: all-reduce before group_join" % self.generation)
        try:
            self.dist.all_reduce(t)
        except Exception as e:
            raise RuntimeError("all-reduce of %s on rank %d of %d (group %s, %s) failed: %s: %s" % (
                what, self.rank, self.size, self.generation, self.backend, type(e).__name__, e))
        return t

    def add(self, key, amount):
        return self.prefixed.add(key, int(amount))

    def close(self):
        if self.joined:
            self.joined = False
            self.dist.destroy_process_group()


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
    send(sock, {"ok": True, "torch": torch.__version__, "protocol": PROTOCOL})  # hello: this interpreter serves
    worker, group = None, None
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
                if group is not None:
                    group.close()
                send(sock, {"ok": True})
                return 0
            elif op == "group_store":
                if group is not None:
                    raise RuntimeError("this worker is in group %s already" % group.generation)
                group = Group(torch, header)
                send(sock, group.info())
            elif op in ("group_join", "group_add", "group_close"):
                if group is None:
                    raise RuntimeError("'%s' before 'group_store'" % op)
                if op == "group_join":
                    send(sock, group.join())
                elif op == "group_add":
                    send(sock, {"ok": True, "value": group.add(header["key"], header.get("amount", 1))})
                else:
                    group.close()
                    send(sock, {"ok": True})
            elif worker is None:
                raise RuntimeError("'%s' before 'init'" % op)
            elif op == "step":
                reply, logits = worker.step(header, payload)
                send(sock, reply, [logits])
            elif op == "predict":
                send(sock, {"ok": True}, [worker.predict(header, payload)])
            elif op == "state":
                send(sock, {"ok": True}, [worker.state()])
            elif op == "accumulate":
                reply, logits = worker.accumulate(header, payload)
                send(sock, reply, [logits])
            elif op == "exchange":
                send(sock, worker.exchange(header, group))
            elif op == "apply":
                send(sock, worker.apply(header))
            elif op == "memory":
                send(sock, worker.memory())
            else:
                raise ValueError("unknown op '%s'" % op)
        except Exception as e:
            send(sock, {"ok": False, "error": "%s: %s" % (type(e).__name__, e)})


if __name__ == "__main__":
    sys.exit(main())
