#include "vmm/elf/xen_notes.hpp"

#include <stdint.h>
#include <xen/elfnote.h>

#include <algorithm>
#include <string_view>

namespace pvvmm::elf {

namespace {

// How a known note's descriptor is encoded.
enum class Encoding { Numeric, String, Special };

struct NoteKind {
    std::string_view name;  // XEN_ELFNOTE_<name>, for messages
    Encoding encoding;
};

std::optional<NoteKind> note_kind(uint32_t type) {
    switch (type) {
    case XEN_ELFNOTE_ENTRY: return NoteKind{"ENTRY", Encoding::Numeric};
    case XEN_ELFNOTE_HYPERCALL_PAGE: return NoteKind{"HYPERCALL_PAGE", Encoding::Numeric};
    case XEN_ELFNOTE_VIRT_BASE: return NoteKind{"VIRT_BASE", Encoding::Numeric};
    case XEN_ELFNOTE_PADDR_OFFSET: return NoteKind{"PADDR_OFFSET", Encoding::Numeric};
    case XEN_ELFNOTE_XEN_VERSION: return NoteKind{"XEN_VERSION", Encoding::String};
    case XEN_ELFNOTE_GUEST_OS: return NoteKind{"GUEST_OS", Encoding::String};
    case XEN_ELFNOTE_GUEST_VERSION: return NoteKind{"GUEST_VERSION", Encoding::String};
    case XEN_ELFNOTE_LOADER: return NoteKind{"LOADER", Encoding::String};
    case XEN_ELFNOTE_PAE_MODE: return NoteKind{"PAE_MODE", Encoding::String};
    case XEN_ELFNOTE_FEATURES: return NoteKind{"FEATURES", Encoding::String};
    case XEN_ELFNOTE_BSD_SYMTAB: return NoteKind{"BSD_SYMTAB", Encoding::String};
    case XEN_ELFNOTE_HV_START_LOW: return NoteKind{"HV_START_LOW", Encoding::Numeric};
    case XEN_ELFNOTE_L1_MFN_VALID: return NoteKind{"L1_MFN_VALID", Encoding::Special};
    case XEN_ELFNOTE_SUSPEND_CANCEL: return NoteKind{"SUSPEND_CANCEL", Encoding::Numeric};
    case XEN_ELFNOTE_INIT_P2M: return NoteKind{"INIT_P2M", Encoding::Numeric};
    case XEN_ELFNOTE_MOD_START_PFN: return NoteKind{"MOD_START_PFN", Encoding::Numeric};
    case XEN_ELFNOTE_SUPPORTED_FEATURES: return NoteKind{"SUPPORTED_FEATURES", Encoding::Special};
    case XEN_ELFNOTE_PHYS32_ENTRY: return NoteKind{"PHYS32_ENTRY", Encoding::Numeric};
    default: return std::nullopt;
    }
}

// Little-endian unsigned integer of 1..8 bytes.
uint64_t little_endian(std::span<const uint8_t> bytes) {
    uint64_t value = 0;
    for (size_t i = bytes.size(); i-- > 0;)
        value = (value << 8) | bytes[i];
    return value;
}

Result<uint64_t> numeric_value(const NoteKind& kind, const Note& note) {
    switch (note.desc.size()) {
    case 1:
    case 2:
    case 4:
    case 8: return little_endian(note.desc);
    default:
        // Xen silently reads such a note as 0; a wrong size is far more
        // likely a corrupt file than an intended 0.
        return bad_input(
            "Xen note {} has a {}-byte value; numeric notes must be 1, 2, 4 or "
            "8 bytes",
            kind.name, note.desc.size());
    }
}

// Xen's libelf reads a string note up to its NUL wherever that is; Linux
// writes FEATURES without one (the note's zero padding ends it). A string
// ends at its NUL or at the end of its descriptor, never beyond.
Result<std::string> string_value(const NoteKind& kind, const Note& note) {
    auto nul = std::find(note.desc.begin(), note.desc.end(), uint8_t{0});
    const auto length = static_cast<size_t>(nul - note.desc.begin());
    if (length > kMaxNoteStringLength) {
        return bad_input("Xen note {} is {} bytes long; at most {} are accepted", kind.name, length,
                         kMaxNoteStringLength);
    }
    return std::string(note.desc.begin(), nul);
}

Result<void> apply_supported_features(const NoteKind& kind, const Note& note, XenNotes& out) {
    constexpr size_t word = sizeof(uint32_t);
    if (note.desc.empty() || note.desc.size() % word != 0) {
        return bad_input("Xen note {} is {} bytes; it must be a non-empty array of 4-byte words", kind.name,
                         note.desc.size());
    }
    // Words beyond the submaps Xen defines describe features nobody can
    // offer yet; they are dropped.
    const size_t words = std::min(note.desc.size() / word, out.supported_features.size());
    for (size_t i = 0; i < words; ++i)
        out.supported_features[i] |= static_cast<uint32_t>(little_endian(note.desc.subspan(i * word, word)));
    return {};
}

Result<void> apply_l1_mfn_valid(const NoteKind& kind, const Note& note, XenNotes& out) {
    constexpr size_t pair = 2 * sizeof(uint64_t);  // maddr_t is 8 bytes on x86-64
    if (note.desc.empty() || note.desc.size() % pair != 0) {
        return bad_input(
            "Xen note {} is {} bytes; it must be a non-empty list of 8-byte "
            "mask/value pairs",
            kind.name, note.desc.size());
    }
    out.l1_mfn_valid.clear();
    for (size_t at = 0; at < note.desc.size(); at += pair) {
        out.l1_mfn_valid.push_back(L1MfnValid{
            .mask = little_endian(note.desc.subspan(at, 8)),
            .value = little_endian(note.desc.subspan(at + 8, 8)),
        });
    }
    return {};
}

void store_numeric(uint32_t type, uint64_t value, XenNotes& out) {
    switch (type) {
    case XEN_ELFNOTE_ENTRY: out.entry = value; break;
    case XEN_ELFNOTE_HYPERCALL_PAGE: out.hypercall_page = value; break;
    case XEN_ELFNOTE_VIRT_BASE: out.virt_base = value; break;
    case XEN_ELFNOTE_PADDR_OFFSET: out.paddr_offset = value; break;
    case XEN_ELFNOTE_HV_START_LOW: out.hv_start_low = value; break;
    case XEN_ELFNOTE_INIT_P2M: out.init_p2m = value; break;
    case XEN_ELFNOTE_MOD_START_PFN: out.mod_start_pfn = value; break;
    case XEN_ELFNOTE_PHYS32_ENTRY: out.phys32_entry = value; break;
    case XEN_ELFNOTE_SUSPEND_CANCEL: out.suspend_cancel = value != 0; break;
    default: break;
    }
}

void store_string(uint32_t type, std::string value, XenNotes& out) {
    switch (type) {
    case XEN_ELFNOTE_XEN_VERSION: out.xen_version = std::move(value); break;
    case XEN_ELFNOTE_GUEST_OS: out.guest_os = std::move(value); break;
    case XEN_ELFNOTE_GUEST_VERSION: out.guest_version = std::move(value); break;
    case XEN_ELFNOTE_LOADER: out.loader = std::move(value); break;
    case XEN_ELFNOTE_PAE_MODE: out.pae_mode = std::move(value); break;
    case XEN_ELFNOTE_FEATURES: out.features = std::move(value); break;
    case XEN_ELFNOTE_BSD_SYMTAB: out.bsd_symtab = value == "yes"; break;
    default: break;
    }
}

Result<void> apply_note(const Note& note, XenNotes& out) {
    const auto kind = note_kind(note.type);
    if (!kind) {
        out.unknown_types.push_back(note.type);
        return {};
    }
    switch (kind->encoding) {
    case Encoding::Numeric: {
        auto value = numeric_value(*kind, note);
        if (!value)
            return value.error();
        store_numeric(note.type, value.value(), out);
        return {};
    }
    case Encoding::String: {
        auto value = string_value(*kind, note);
        if (!value)
            return value.error();
        store_string(note.type, std::move(value.value()), out);
        return {};
    }
    case Encoding::Special:
        if (note.type == XEN_ELFNOTE_SUPPORTED_FEATURES)
            return apply_supported_features(*kind, note, out);
        return apply_l1_mfn_valid(*kind, note, out);
    }
    return {};
}

}  // namespace

Result<XenNotes> parse_xen_notes(const ElfFile& elf) {
    XenNotes notes;
    for (const Note& note : elf.notes) {
        if (note.name != "Xen")
            continue;
        ++notes.count;
        PVVMM_TRY(apply_note(note, notes));
    }
    return notes;
}

}  // namespace pvvmm::elf
