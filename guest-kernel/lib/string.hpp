// Memory and string helpers for freestanding code. The compiler may emit
// calls to memcpy/memset/memmove/memcmp on its own, so they use C linkage.
#pragma once

#include <stddef.h>

extern "C" {
void* memcpy(void* destination, const void* source, size_t length);
void* memmove(void* destination, const void* source, size_t length);
void* memset(void* destination, int value, size_t length);
int memcmp(const void* left, const void* right, size_t length);
size_t strlen(const char* text);
size_t strnlen(const char* text, size_t limit);
int strcmp(const char* left, const char* right);
int strncmp(const char* left, const char* right, size_t limit);
}

// True when `text` contains `needle` within its first `limit` bytes.
bool contains(const char* text, size_t limit, const char* needle);
// True when `text` starts with `prefix`.
bool starts_with(const char* text, const char* prefix);
