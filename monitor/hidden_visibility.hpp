// Force-included into every monitor C++ file: all symbols are local to the
// one static image, so the compiler addresses them RIP-relatively instead
// of through a GOT (the monitor runs at 0xffff82d0..., which an absolute
// 32-bit relocation cannot reach).
#pragma GCC visibility push(hidden)
