// pvvmm's exit statuses (documented in README.md and --help).
#pragma once

namespace pvvmm::cli {

enum ExitStatus : int {
    kExitPoweroff = 0,      // the guest powered off
    kExitGuestCrash = 1,    // the guest crashed (or asked to suspend / its watchdog fired)
    kExitBadInput = 2,      // bad command line, unreadable or malformed guest ELF
    kExitReboot = 3,        // the guest asked for a reboot
    kExitMonitorPanic = 4,  // monitor panic, triple fault, or KVM failed while running
    kExitTimeout = 5,       // --timeout expired
    kExitHostError = 6,     // /dev/kvm missing or refused, or a KVM set-up ioctl failed
    kExitStopped = 7,       // stopped from the console with Ctrl-]
};

inline constexpr const char* kConsoleHelp =
    "Console: the guest's console output goes to stdout, pvvmm's logs to stderr; stdin is the console's input\n"
    "(on a terminal it is put in raw mode, keys go to the guest, and Ctrl-] stops the guest).\n"
    "Linux: pvvmm run --xpti=on --memory 512M --initrd initrd.cpio.gz --cmdline console=hvc0 vmlinuz\n"
    "(scripts/linux-guest fetches Debian's kernel and busybox with apt and boots it to a shell).";

inline constexpr const char* kExitStatusHelp =
    "Exit status: 0 guest powered off, 1 guest crashed, 2 bad input (options, guest kernel or initrd),\n"
    "3 guest rebooted, 4 monitor panic or KVM failure, 5 --timeout expired,\n"
    "6 host error (/dev/kvm missing or not permitted, KVM set-up failed), 7 stopped from the console (Ctrl-]).";

}  // namespace pvvmm::cli
