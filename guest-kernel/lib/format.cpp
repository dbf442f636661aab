#include "format.hpp"

#include <stdint.h>

#include "string.hpp"

namespace {

struct Spec {
    bool left_justify = false;
    bool zero_pad = false;
    bool alternate = false;
    int width = 0;
    int precision = -1;
};

void pad(const FormatSink& sink, char fill, int count) {
    while (count-- > 0)
        sink.write(sink.context, &fill, 1);
}

void emit_field(const FormatSink& sink, const Spec& spec, const char* prefix, const char* body, int body_length) {
    int prefix_length = static_cast<int>(strlen(prefix));
    int padding = spec.width - prefix_length - body_length;
    if (!spec.left_justify && !spec.zero_pad)
        pad(sink, ' ', padding);
    sink.write(sink.context, prefix, static_cast<size_t>(prefix_length));
    if (!spec.left_justify && spec.zero_pad)
        pad(sink, '0', padding);
    sink.write(sink.context, body, static_cast<size_t>(body_length));
    if (spec.left_justify)
        pad(sink, ' ', padding);
}

void emit_number(const FormatSink& sink, Spec spec, uint64_t magnitude, bool negative, unsigned base, bool uppercase,
                 bool pointer) {
    const char* digits = uppercase ? "0123456789ABCDEF" : "0123456789abcdef";
    char buffer[24];
    int length = 0;
    do {
        buffer[sizeof buffer - 1 - length++] = digits[magnitude % base];
        magnitude /= base;
    } while (magnitude != 0);
    while (length < spec.precision && length < static_cast<int>(sizeof buffer)) {
        buffer[sizeof buffer - 1 - length++] = '0';
    }
    if (spec.precision >= 0)
        spec.zero_pad = false;
    const char* prefix = negative ? "-" : "";
    if (base == 16 && (spec.alternate || pointer))
        prefix = uppercase ? "0X" : "0x";
    emit_field(sink, spec, prefix, buffer + sizeof buffer - length, length);
}

enum class Length { normal, char_, short_, long_, long_long, size };

uint64_t take_unsigned(va_list& arguments, Length length) {
    switch (length) {
    case Length::char_: return static_cast<unsigned char>(va_arg(arguments, unsigned));
    case Length::short_: return static_cast<unsigned short>(va_arg(arguments, unsigned));
    case Length::long_: return va_arg(arguments, unsigned long);
    case Length::long_long: return va_arg(arguments, unsigned long long);
    case Length::size: return va_arg(arguments, size_t);
    case Length::normal: break;
    }
    return va_arg(arguments, unsigned);
}

int64_t take_signed(va_list& arguments, Length length) {
    switch (length) {
    case Length::char_: return static_cast<signed char>(va_arg(arguments, int));
    case Length::short_: return static_cast<short>(va_arg(arguments, int));
    case Length::long_: return va_arg(arguments, long);
    case Length::long_long: return va_arg(arguments, long long);
    case Length::size: return va_arg(arguments, long);
    case Length::normal: break;
    }
    return va_arg(arguments, int);
}

}  // namespace

void vformat(const FormatSink& sink, const char* format, va_list arguments_in) {
    va_list arguments;
    va_copy(arguments, arguments_in);
    while (*format != '\0') {
        if (*format != '%') {
            const char* run = format;
            while (*format != '\0' && *format != '%')
                ++format;
            sink.write(sink.context, run, static_cast<size_t>(format - run));
            continue;
        }
        ++format;  // '%'
        Spec spec;
        for (;; ++format) {
            if (*format == '-')
                spec.left_justify = true;
            else if (*format == '0')
                spec.zero_pad = true;
            else if (*format == '#')
                spec.alternate = true;
            else
                break;
        }
        if (*format == '*') {
            spec.width = va_arg(arguments, int);
            ++format;
        } else {
            while (*format >= '0' && *format <= '9')
                spec.width = spec.width * 10 + (*format++ - '0');
        }
        if (*format == '.') {
            ++format;
            spec.precision = 0;
            if (*format == '*') {
                spec.precision = va_arg(arguments, int);
                ++format;
            } else {
                while (*format >= '0' && *format <= '9') {
                    spec.precision = spec.precision * 10 + (*format++ - '0');
                }
            }
        }
        Length length = Length::normal;
        if (*format == 'h') {
            length = Length::short_;
            if (*++format == 'h') {
                length = Length::char_;
                ++format;
            }
        } else if (*format == 'l') {
            length = Length::long_;
            if (*++format == 'l') {
                length = Length::long_long;
                ++format;
            }
        } else if (*format == 'z') {
            length = Length::size;
            ++format;
        }
        char conversion = *format;
        if (conversion == '\0')
            break;
        ++format;
        switch (conversion) {
        case 'd':
        case 'i': {
            int64_t value = take_signed(arguments, length);
            uint64_t magnitude = value < 0 ? 0 - static_cast<uint64_t>(value) : static_cast<uint64_t>(value);
            emit_number(sink, spec, magnitude, value < 0, 10, false, false);
            break;
        }
        case 'u': emit_number(sink, spec, take_unsigned(arguments, length), false, 10, false, false); break;
        case 'x': emit_number(sink, spec, take_unsigned(arguments, length), false, 16, false, false); break;
        case 'X': emit_number(sink, spec, take_unsigned(arguments, length), false, 16, true, false); break;
        case 'p': {
            auto value = reinterpret_cast<uint64_t>(va_arg(arguments, void*));
            emit_number(sink, spec, value, false, 16, false, true);
            break;
        }
        case 'c': {
            char c = static_cast<char>(va_arg(arguments, int));
            emit_field(sink, spec, "", &c, 1);
            break;
        }
        case 's': {
            const char* text = va_arg(arguments, const char*);
            if (text == nullptr)
                text = "(null)";
            size_t limit = spec.precision >= 0 ? static_cast<size_t>(spec.precision) : SIZE_MAX;
            emit_field(sink, spec, "", text, static_cast<int>(strnlen(text, limit)));
            break;
        }
        case '%': sink.write(sink.context, "%", 1); break;
        default:  // unknown conversion: show it rather than guess
            sink.write(sink.context, format - 2, 2);
            break;
        }
    }
    va_end(arguments);
}

namespace {

struct BufferCursor {
    char* buffer;
    size_t size;
    size_t used;
};

void write_to_buffer(void* context, const char* text, size_t length) {
    auto* cursor = static_cast<BufferCursor*>(context);
    for (size_t i = 0; i < length && cursor->used + 1 < cursor->size; ++i) {
        cursor->buffer[cursor->used++] = text[i];
    }
}

}  // namespace

size_t vformat_to(char* buffer, size_t size, const char* format, va_list arguments) {
    BufferCursor cursor{buffer, size, 0};
    vformat(FormatSink{write_to_buffer, &cursor}, format, arguments);
    if (size > 0)
        buffer[cursor.used] = '\0';
    return cursor.used;
}

size_t format_to(char* buffer, size_t size, const char* format, ...) {
    va_list arguments;
    va_start(arguments, format);
    size_t written = vformat_to(buffer, size, format, arguments);
    va_end(arguments);
    return written;
}
