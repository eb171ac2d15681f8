// The CPU thread pool behind parallel_for, and the host side of the
// execution context.
#include "parallel.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

namespace pdvg {

namespace {

// A persistent pool: workers sleep on a condition variable between jobs so
// that a render call does not pay for thread creation.
class ThreadPool {
public:
    static ThreadPool& instance() {
        static ThreadPool pool;
        return pool;
    }

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

    ~ThreadPool() {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            stopping_ = true;
            ++generation_;
        }
        wake_.notify_all();
        for (auto& t : workers_) t.join();
    }

private:
    void ensure_workers(int count) {
        while (int(workers_.size()) < count) {
            int index = int(workers_.size());
            // The worker starts from the generation current now, before run()
            // bumps it for the job at hand; reading it inside the new thread
            // could see the bumped value and miss that job (deadlock).
            uint64_t start_generation = generation_;
            workers_.emplace_back([this, index, start_generation] { worker_loop(index, start_generation); });
        }
    }

    void worker_loop(int index, uint64_t seen) {
        while (true) {
            std::function<void()>* job = nullptr;
            {
                std::unique_lock<std::mutex> lock(mutex_);
                wake_.wait(lock, [&] { return stopping_ || generation_ != seen; });
                if (stopping_) return;
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
    bool stopping_ = false;
};

}  // namespace

void run_on_thread_pool(int64_t n, int64_t grain, int num_threads,
                        const std::function<void(int64_t, int64_t)>& chunk) {
    if (n <= 0) return;
    ThreadPool::instance().run(n, std::max<int64_t>(grain, 1), num_threads, chunk);
}

int64_t exclusive_scan_inplace(int* values, int64_t count, const ExecutionContext& context) {
    std::vector<int> host = context.use_cuda ? context.to_host(values, size_t(count))
                                             : std::vector<int>(values, values + count);
    int64_t total = 0;
    for (int64_t i = 0; i < count; ++i) {
        int64_t v = host[size_t(i)];
        host[size_t(i)] = int(total);
        total += v;
    }
    if (total > int64_t(INT32_MAX)) throw InvalidArgument("scene too large: more than 2^31 work items");
    if (context.use_cuda) context.from_host(values, host.data(), size_t(count));
    else std::copy(host.begin(), host.end(), values);
    return total;
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
