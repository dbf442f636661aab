#include "console.hpp"
#include "physmap.hpp"
#include "runtime.hpp"
#include "shutdown.hpp"
#include "string.hpp"

namespace runtime {
namespace {

const start_info* boot = nullptr;
char command_line_copy[MAX_GUEST_CMDLINE + 1];

}  // namespace

const start_info& boot_info() { return *boot; }

const char* command_line() { return command_line_copy; }

bool command_line_has(const char* word) {
    const size_t length = strlen(word);
    for (const char* cursor = command_line_copy; *cursor != '\0';) {
        while (*cursor == ' ')
            ++cursor;
        const char* start = cursor;
        while (*cursor != '\0' && *cursor != ' ')
            ++cursor;
        if (static_cast<size_t>(cursor - start) == length && strncmp(start, word, length) == 0)
            return true;
    }
    return false;
}

bool command_line_option(const char* key, char* value, unsigned size) {
    size_t key_length = strlen(key);
    const char* cursor = command_line_copy;
    while (*cursor != '\0') {
        while (*cursor == ' ')
            ++cursor;
        const char* word = cursor;
        while (*cursor != '\0' && *cursor != ' ')
            ++cursor;
        size_t word_length = static_cast<size_t>(cursor - word);
        if (word_length > key_length && strncmp(word, key, key_length) == 0 && word[key_length] == '=') {
            if (size == 0)
                return false;
            size_t value_length = word_length - key_length - 1;
            if (value_length >= size)
                value_length = size - 1;  // truncated: matches nothing
            memcpy(value, word + key_length + 1, value_length);
            value[value_length] = '\0';
            return true;
        }
    }
    return false;
}

uint64_t command_line_number(const char* key, uint64_t fallback) {
    char value[24];
    if (!command_line_option(key, value, sizeof value))
        return fallback;
    uint64_t n = 0;
    for (const char* c = value; *c >= '0' && *c <= '9'; ++c)
        n = n * 10 + static_cast<uint64_t>(*c - '0');
    return n;
}

}  // namespace runtime

extern "C" [[noreturn]] void runtime_start(const start_info* info) {
    runtime::boot = info;
    // cmd_line need not be terminated within its 1024 bytes.
    memcpy(runtime::command_line_copy, info->cmd_line, MAX_GUEST_CMDLINE);
    runtime::command_line_copy[MAX_GUEST_CMDLINE] = '\0';
    physmap::init(*info);
    console::init(*info);
    shutdown(guest_main(*info));
}
