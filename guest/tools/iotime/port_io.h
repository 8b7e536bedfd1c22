// Port I/O and time-stamp counter reads from guest userspace (after ioperm), as inline asm: the
// whole point is to time exactly one IN or OUT instruction per access, with nothing else between.
#pragma once

#include <cpuid.h>
#include <stdint.h>

namespace iotime {

inline void out8(uint16_t port, uint8_t v) { asm volatile("outb %0, %1" : : "a"(v), "Nd"(port)); }
inline void out16(uint16_t port, uint16_t v) { asm volatile("outw %0, %1" : : "a"(v), "Nd"(port)); }
inline void out32(uint16_t port, uint32_t v) { asm volatile("outl %0, %1" : : "a"(v), "Nd"(port)); }

inline uint8_t in8(uint16_t port) {
    uint8_t v;
    asm volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}
inline uint16_t in16(uint16_t port) {
    uint16_t v;
    asm volatile("inw %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}
inline uint32_t in32(uint16_t port) {
    uint32_t v;
    asm volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

// width-generic helpers: width is 1, 2 or 4 bytes.
inline void out_width(uint16_t port, int width, uint32_t v) {
    if (width == 1) out8(port, static_cast<uint8_t>(v));
    else if (width == 2) out16(port, static_cast<uint16_t>(v));
    else out32(port, v);
}
inline uint32_t in_width(uint16_t port, int width) {
    if (width == 1) return in8(port);
    if (width == 2) return in16(port);
    return in32(port);
}

// RDTSCP is absent on some CPU models a VMM may expose; CPUID 0x80000001 EDX bit 27 says.
inline bool have_rdtscp() {
    unsigned a, b, c, d;
    if (!__get_cpuid(0x80000001, &a, &b, &c, &d)) return false;
    return (d >> 27) & 1;
}

// Start of a timed region: LFENCE before RDTSC so earlier instructions have finished, LFENCE after
// so the timed instructions cannot start before the counter is read.
inline uint64_t tsc_begin() {
    uint32_t lo, hi;
    asm volatile("lfence\n\trdtsc\n\tlfence" : "=a"(lo), "=d"(hi) : : "memory");
    return (static_cast<uint64_t>(hi) << 32) | lo;
}

// End of a timed region: RDTSCP waits for every earlier instruction; the LFENCE keeps later ones
// from starting before it. Without RDTSCP, LFENCE + RDTSC gives the same ordering.
inline uint64_t tsc_end(bool rdtscp) {
    uint32_t lo, hi, aux;
    if (rdtscp) {
        asm volatile("rdtscp\n\tlfence" : "=a"(lo), "=d"(hi), "=c"(aux) : : "memory");
    } else {
        asm volatile("lfence\n\trdtsc\n\tlfence" : "=a"(lo), "=d"(hi) : : "memory");
    }
    return (static_cast<uint64_t>(hi) << 32) | lo;
}

}  // namespace iotime
