/**
 * The worker engine: each SGD step on the host's own PyTorch (CPU or CUDA) in a worker process, fed through shared
 * memory and a Unix socket, behind the same seam and snapshot layout as the other engines; data-parallel groups over
 * {@code torch.distributed} in that process (Gloo on the CPU, NCCL on CUDA).
 */
package io.wrnstream.engine.worker;
