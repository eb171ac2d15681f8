// The CPU threads behind parallel_for, and the host side of the execution
// context.
//
// Where the build has OpenMP, chunks run in an OpenMP team. torch's CPU ops
// use OpenMP too, and the library is shared (one libgomp.so.1 per process),
// so a render right after torch work (a loss's backward, say) is picked up by
// team threads that are still spinning after that work, instead of competing
// with them for the cores: on 2 cores the spin cost the gradients64 backward
// pass about a sixth of its time. Otherwise, and in a process forked after
// the library was loaded (libgomp cannot start a team in a fork child of a
// process that had one), a persistent pool of our own threads does the work.
#include "parallel.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include <pthread.h>
#ifdef _OPENMP
#include <omp.h>
#endif

namespace pdvg {

namespace {

// A persistent pool: workers sleep on a condition variable between jobs so
// that a render call does not pay for thread creation.
class ThreadPool {
public:
    // The process's pool. A fork child starts a new one: the parent's
    // workers do not exist there, and its mutexes may have been held at the
    // fork. The old pool is leaked, never destroyed (its threads cannot be
    // joined).
    static ThreadPool& instance() {
        ThreadPool* pool = current_.load();
        if (!pool) {
            ThreadPool* made = new ThreadPool;
            if (current_.compare_exchange_strong(pool, made)) pool = made;
            else delete made;
        }
        return *pool;
    }
    static void forget_after_fork() { current_.store(nullptr); }

    void run(int64_t n, int64_t grain, int num_threads,
             const std::function<void(int64_t, int64_t)>& chunk) {
        int64_t chunks = (n + grain - 1) / grain;
        int helpers = int(std::min<int64_t>(std::max(num_threads, 1), chunks)) - 1;
        if (helpers <= 0) {
            chunk(0, n);
            return;
        }
        std::lock_guard<std::mutex> job_guard(job_mutex_);  // one job at a time
        ensure_workers(helpers);
        std::atomic<int64_t> next{0};
        std::function<void()> work = [&]() {
            while (true) {
                int64_t c = next.fetch_add(1);
                if (c >= chunks) break;
                int64_t begin = c * grain;
                chunk(begin, std::min(n, begin + grain));
            }
        };
        {
            std::lock_guard<std::mutex> lock(mutex_);
            job_ = &work;
            active_helpers_ = helpers;
            pending_ = helpers;
            ++generation_;
        }
        wake_.notify_all();
        work();
        std::unique_lock<std::mutex> lock(mutex_);
        done_.wait(lock, [&] { return pending_ == 0; });
        job_ = nullptr;
    }

private:
    static inline std::atomic<ThreadPool*> current_{nullptr};

    // Called before the job's generation is published, so a new worker that
    // starts late still sees the job: it begins from the generation current
    // at its creation, not at its start.
    void ensure_workers(int count) {
        uint64_t current;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            current = generation_;
        }
        while (int(workers_.size()) < count) {
            int index = int(workers_.size());
            workers_.emplace_back([this, index, current] { worker_loop(index, current); });
        }
    }

    void worker_loop(int index, uint64_t seen) {
        while (true) {
            std::function<void()>* job = nullptr;
            {
                std::unique_lock<std::mutex> lock(mutex_);
                wake_.wait(lock, [&] { return generation_ != seen; });
                seen = generation_;
                if (index >= active_helpers_) continue;
                job = job_;
            }
            (*job)();
            {
                std::lock_guard<std::mutex> lock(mutex_);
                if (--pending_ == 0) done_.notify_one();
            }
        }
    }

    std::mutex job_mutex_;
    std::mutex mutex_;
    std::condition_variable wake_, done_;
    std::vector<std::thread> workers_;
    std::function<void()>* job_ = nullptr;
    int active_helpers_ = 0;
    int pending_ = 0;
    uint64_t generation_ = 0;
};

// Whether chunks may run in an OpenMP team: not in a fork child.
std::atomic<bool> openmp_usable{true};

void after_fork_in_child() {
    openmp_usable.store(false);
    ThreadPool::forget_after_fork();
}

const bool fork_handler_registered = pthread_atfork(nullptr, nullptr, after_fork_in_child) == 0;

}  // namespace

void run_on_thread_pool(int64_t n, int64_t grain, int num_threads,
                        const std::function<void(int64_t, int64_t)>& chunk) {
    if (n <= 0) return;
    grain = std::max<int64_t>(grain, 1);
#ifdef _OPENMP
    if (openmp_usable.load(std::memory_order_relaxed) && !omp_in_parallel()) {
        const int64_t chunks = (n + grain - 1) / grain;
        const int threads = int(std::min<int64_t>(std::max(num_threads, 1), chunks));
        if (threads <= 1) {
            chunk(0, n);
            return;
        }
        // Chunks are taken dynamically, as by the pool.
        std::atomic<int64_t> next{0};
#pragma omp parallel num_threads(threads)
        {
            for (int64_t c; (c = next.fetch_add(1)) < chunks;) {
                const int64_t begin = c * grain;
                chunk(begin, std::min(n, begin + grain));
            }
        }
        return;
    }
#endif
    ThreadPool::instance().run(n, grain, num_threads, chunk);
}

// (Not static: nvcc's extended lambdas need an enclosing function with external linkage.)
template <typename Int>
int64_t scan_integers(Int* values, int64_t count, const ExecutionContext& context, double max_total) {
    return int64_t(parallel_exclusive_scan(
        count, [=] HOST_DEVICE(int64_t i) { return values[i]; },
        [=] HOST_DEVICE(int64_t i, double prefix, double) {
            const Int v = values[i];
            values[i] = Int(prefix);
            return v;
        }, context, max_total));
}

int64_t exclusive_scan_inplace(int* values, int64_t count, const ExecutionContext& context) {
    return scan_integers(values, count, context, double(INT32_MAX));
}

int64_t exclusive_scan_inplace(int64_t* values, int64_t count, const ExecutionContext& context) {
    return scan_integers(values, count, context, 9007199254740992.0);  // 2^53: doubles stay exact
}

#if !PDVG_HAS_CUDA_COMPILER
void ExecutionContext::copy_to_host(void* d, const void* s, size_t bytes) const {
    if (use_cuda) throw Unsupported("this build of pydiffvg has no CUDA support");
    std::memcpy(d, s, bytes);
}
void ExecutionContext::copy_from_host(void* d, const void* s, size_t bytes) const {
    if (use_cuda) throw Unsupported("this build of pydiffvg has no CUDA support");
    std::memcpy(d, s, bytes);
}
void ExecutionContext::fill_zero(void* d, size_t bytes) const {
    if (use_cuda) throw Unsupported("this build of pydiffvg has no CUDA support");
    std::memset(d, 0, bytes);
}
void ExecutionContext::synchronize() const {}
bool built_with_cuda() { return false; }
#else
void check_cuda_launch(const char* what) {
    cudaError_t err = cudaGetLastError();
    if (err != cudaSuccess) throw std::runtime_error(concat("CUDA launch of ", what, " failed: ", cudaGetErrorString(err)));
}
static void check_cuda(cudaError_t err, const char* what) {
    if (err != cudaSuccess) throw std::runtime_error(concat(what, " failed: ", cudaGetErrorString(err)));
}
void ExecutionContext::copy_to_host(void* d, const void* s, size_t bytes) const {
    if (!use_cuda) { std::memcpy(d, s, bytes); return; }
    check_cuda(cudaMemcpyAsync(d, s, bytes, cudaMemcpyDeviceToHost, (cudaStream_t)stream), "cudaMemcpyAsync");
    check_cuda(cudaStreamSynchronize((cudaStream_t)stream), "cudaStreamSynchronize");
}
void ExecutionContext::copy_from_host(void* d, const void* s, size_t bytes) const {
    if (!use_cuda) { std::memcpy(d, s, bytes); return; }
    check_cuda(cudaMemcpyAsync(d, s, bytes, cudaMemcpyHostToDevice, (cudaStream_t)stream), "cudaMemcpyAsync");
    check_cuda(cudaStreamSynchronize((cudaStream_t)stream), "cudaStreamSynchronize");
}
void ExecutionContext::fill_zero(void* d, size_t bytes) const {
    if (!use_cuda) { std::memset(d, 0, bytes); return; }
    check_cuda(cudaMemsetAsync(d, 0, bytes, (cudaStream_t)stream), "cudaMemsetAsync");
}
void ExecutionContext::synchronize() const {
    if (use_cuda) check_cuda(cudaStreamSynchronize((cudaStream_t)stream), "cudaStreamSynchronize");
}
bool built_with_cuda() { return true; }
#endif

}  // namespace pdvg
