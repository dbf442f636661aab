// The user program images linked into the kernel (user/*.elf, embedded by
// the generated user_images.S).
#pragma once

#include <stddef.h>
#include <stdint.h>

struct UserImage {
    const char* name;
    const uint8_t* start;
    size_t size;
};

namespace images {

// False when no image has that name.
bool find(const char* name, UserImage& image);
// The name of image `index` (0, 1, ...); null past the last.
const char* name(unsigned index);

}  // namespace images
