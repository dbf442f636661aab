#include "vmm/console_input.hpp"

#include <fcntl.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <csignal>
#include <cstring>

#include "guest-abi/layout.hpp"

namespace pvvmm {

namespace {

// The terminal as it was, for every way out (one pvvmm run per process).
termios saved_termios{};
volatile sig_atomic_t termios_saved = 0;

void restore_terminal() {
    if (termios_saved)
        tcsetattr(STDIN_FILENO, TCSANOW, &saved_termios);
}

void restore_and_reraise(int sig) {
    restore_terminal();
    std::signal(sig, SIG_DFL);
    std::raise(sig);
}

// Raw input (no line editing, echo, signals or flow control), output
// processing kept so that the guest's "\n" still starts a new line.
bool make_raw() {
    if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &saved_termios) != 0)
        return false;
    termios raw = saved_termios;
    raw.c_lflag &= ~static_cast<tcflag_t>(ICANON | ECHO | ISIG | IEXTEN);
    raw.c_iflag &= ~static_cast<tcflag_t>(IXON | ICRNL | INLCR | IGNCR | ISTRIP | BRKINT);
    raw.c_cc[VMIN] = 1;
    raw.c_cc[VTIME] = 0;
    termios_saved = 1;
    for (int sig : {SIGTERM, SIGHUP, SIGQUIT, SIGINT, SIGABRT, SIGSEGV})
        std::signal(sig, restore_and_reraise);
    std::atexit(restore_terminal);
    return tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0;
}

}  // namespace

ConsoleInput::ConsoleInput(abi::HostChannel& channel, const kvm::Vm& vm, RunControl& control)
    : ch_(channel), vm_(vm), control_(control) {}

ConsoleInput::~ConsoleInput() {
    if (started_) {
        (void)!write(stop_pipe_[1], "x", 1);
        pthread_join(thread_, nullptr);
    }
    for (int fd : stop_pipe_)
        if (fd >= 0)
            close(fd);
    restore_terminal();
    termios_saved = 0;
}

void ConsoleInput::start() {
    if (pipe2(stop_pipe_, O_CLOEXEC) != 0)
        return;
    raw_ = make_raw();
    if (raw_)
        spdlog::info("console: keys go to the guest; Ctrl-] stops it");
    started_ = pthread_create(
                   &thread_, nullptr,
                   [](void* self) -> void* {
                       static_cast<ConsoleInput*>(self)->loop();
                       return nullptr;
                   },
                   this) == 0;
}

void ConsoleInput::kick() {
    __atomic_fetch_or(&ch_.posted, abi::kPostConsoleInput, __ATOMIC_SEQ_CST);
    if (auto r = vm_.signal_msi(0, layout::kHostKickVector); !r)
        spdlog::warn("console input: {}", r.error().message);
}

bool ConsoleInput::deliver(const char* bytes, size_t n) {
    while (n) {
        const uint32_t prod = ch_.in_prod;
        const uint32_t room = abi::kConsoleInSize - (prod - __atomic_load_n(&ch_.in_cons, __ATOMIC_ACQUIRE));
        if (room == 0) {
            // The guest has not read what it has: look again soon.
            pollfd p{stop_pipe_[0], POLLIN, 0};
            if (poll(&p, 1, 10) > 0 || control_.finished())
                return false;
            continue;
        }
        const uint32_t take = static_cast<uint32_t>(n < room ? n : room);
        for (uint32_t i = 0; i < take; ++i)
            ch_.console_in[(prod + i) % abi::kConsoleInSize] = bytes[i];
        __atomic_store_n(&ch_.in_prod, prod + take, __ATOMIC_RELEASE);
        kick();
        bytes += take;
        n -= take;
    }
    return true;
}

void ConsoleInput::loop() {
    char buf[256];
    for (;;) {
        pollfd p[2] = {{STDIN_FILENO, POLLIN, 0}, {stop_pipe_[0], POLLIN, 0}};
        if (poll(p, 2, -1) < 0 && errno != EINTR)
            return;
        if (p[1].revents)
            return;
        if (!(p[0].revents & (POLLIN | POLLHUP)))
            continue;
        const ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
        if (n <= 0)
            return;  // end of input: the guest just gets no more
        size_t len = static_cast<size_t>(n);
        if (raw_) {
            if (const void* esc = std::memchr(buf, kConsoleEscape, len)) {
                deliver(buf, static_cast<size_t>(static_cast<const char*>(esc) - buf));
                control_.finish(Outcome::Stopped, "stopped from the console (Ctrl-])");
                return;
            }
        }
        if (!deliver(buf, len))
            return;
    }
}

}  // namespace pvvmm
