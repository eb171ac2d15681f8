// One atomic-add abstraction: atomicAdd on the GPU, compare-and-swap on CPU.
#pragma once

#include "defs.h"

#if !defined(__CUDA_ARCH__)
#include <atomic>
#include <type_traits>
#endif

namespace pdvg {

template <typename T>
HOST_DEVICE FORCE_INLINE void atomic_add(T* address, T value) {
#if defined(__CUDA_ARCH__)
    atomicAdd(address, value);
#else
    // std::atomic_ref needs C++20; a CAS loop on the raw storage works for
    // float and double with C++17 and compiles to lock cmpxchg on x86.
    static_assert(sizeof(T) == 4 || sizeof(T) == 8, "atomic_add supports 32- and 64-bit types");
    using Bits = typename std::conditional<sizeof(T) == 4, uint32_t, uint64_t>::type;
    auto* bits = reinterpret_cast<volatile Bits*>(address);
    Bits expected = *bits;
    while (true) {
        T current;
        __builtin_memcpy(&current, &expected, sizeof(T));
        T next = current + value;
        Bits desired;
        __builtin_memcpy(&desired, &next, sizeof(T));
        Bits seen = __sync_val_compare_and_swap(bits, expected, desired);
        if (seen == expected) break;
        expected = seen;
    }
#endif
}

HOST_DEVICE FORCE_INLINE int atomic_add_int(int* address, int value) {
#if defined(__CUDA_ARCH__)
    return atomicAdd(address, value);
#else
    return __sync_fetch_and_add(address, value);
#endif
}

}  // namespace pdvg
