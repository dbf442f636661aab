#include "string.hpp"

#include <stdint.h>

// rep movsb / rep stosb rather than loops: the compiler would turn such a
// loop back into a call to the very function being defined.

extern "C" void* memcpy(void* destination, const void* source, size_t length) {
    void* result = destination;
    asm volatile("rep movsb" : "+D"(destination), "+S"(source), "+c"(length) : : "memory");
    return result;
}

extern "C" void* memmove(void* destination, const void* source, size_t length) {
    auto to = reinterpret_cast<uintptr_t>(destination);
    auto from = reinterpret_cast<uintptr_t>(source);
    if (to <= from || to >= from + length)
        return memcpy(destination, source, length);
    // Overlapping with the destination above the source: copy backwards.
    auto* last_to = reinterpret_cast<char*>(destination) + length - 1;
    auto* last_from = reinterpret_cast<const char*>(source) + length - 1;
    asm volatile("std\n\trep movsb\n\tcld" : "+D"(last_to), "+S"(last_from), "+c"(length) : : "memory");
    return destination;
}

extern "C" void* memset(void* destination, int value, size_t length) {
    void* result = destination;
    asm volatile("rep stosb" : "+D"(destination), "+c"(length) : "a"(value) : "memory");
    return result;
}

extern "C" int memcmp(const void* left, const void* right, size_t length) {
    auto* a = static_cast<const unsigned char*>(left);
    auto* b = static_cast<const unsigned char*>(right);
    for (size_t i = 0; i < length; ++i) {
        if (a[i] != b[i])
            return a[i] < b[i] ? -1 : 1;
    }
    return 0;
}

extern "C" size_t strlen(const char* text) {
    size_t length = 0;
    while (text[length] != '\0')
        ++length;
    return length;
}

extern "C" size_t strnlen(const char* text, size_t limit) {
    size_t length = 0;
    while (length < limit && text[length] != '\0')
        ++length;
    return length;
}

extern "C" int strncmp(const char* left, const char* right, size_t limit) {
    for (size_t i = 0; i < limit; ++i) {
        auto a = static_cast<unsigned char>(left[i]);
        auto b = static_cast<unsigned char>(right[i]);
        if (a != b)
            return a < b ? -1 : 1;
        if (a == '\0')
            return 0;
    }
    return 0;
}

extern "C" int strcmp(const char* left, const char* right) { return strncmp(left, right, SIZE_MAX); }

bool contains(const char* text, size_t limit, const char* needle) {
    size_t text_length = strnlen(text, limit);
    size_t needle_length = strlen(needle);
    for (size_t start = 0; start + needle_length <= text_length; ++start) {
        if (memcmp(text + start, needle, needle_length) == 0)
            return true;
    }
    return false;
}

bool starts_with(const char* text, const char* prefix) { return strncmp(text, prefix, strlen(prefix)) == 0; }
