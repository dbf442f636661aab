// kernel.elf's shell (`--cmdline shell`): reads lines from the console and
// runs a few commands. The kernel powers off when it exits.
//
//   ls                        the user programs
//   echo WORDS                the words
//   run PROGRAM [A0 [A1]]     a program with two numeric arguments, waited for
//   sleep MS                  sleeps
//   help                      the commands
//   exit                      ends the shell (and the kernel powers off)
//
// Input is raw bytes (the console has no line discipline): the shell
// echoes what it takes, ends a line at CR or LF (CR LF counts once),
// erases with DEL or BS, drops the line on Ctrl-C. End of input: the PV
// console carries no end-of-file, and a pipe's end never reaches the
// guest, so input ends with `exit` or with Ctrl-D (EOT) at the start of a
// line, as in a Unix shell; a piped script ends with `exit`.
#include "ulib.hpp"

namespace {

constexpr char ctrl_c = 0x03, ctrl_d = 0x04, backspace = 0x08, del = 0x7f;

// Bytes read but not consumed yet (a pipe delivers several lines at once).
char input[256];
long input_length = 0, input_next = 0;

bool next_byte(char& c) {
    if (input_next == input_length) {
        const long n = user::read(0, input, sizeof input);
        if (n <= 0)
            return false;
        input_length = n;
        input_next = 0;
    }
    c = input[input_next++];
    return true;
}

// What the shell echoes, written when it has no more input to take or the
// line ends (one write per batch, not per key).
char echo[256];
unsigned long echo_length = 0;

void echo_flush() {
    if (echo_length > 0)
        user::write(1, echo, echo_length);
    echo_length = 0;
}

void echo_out(const char* text, unsigned long length) {
    for (unsigned long i = 0; i < length; ++i) {
        if (echo_length == sizeof echo)
            echo_flush();
        echo[echo_length++] = text[i];
    }
}

// One line into `line` (NUL-terminated). False at end of input.
bool read_line(char* line, unsigned long size) {
    static bool after_cr = false;
    unsigned long length = 0;
    for (;;) {
        if (input_next == input_length)
            echo_flush();  // before read() may block
        char c;
        if (!next_byte(c))
            return false;
        const bool skip = after_cr && c == '\n';
        after_cr = c == '\r';
        if (skip)
            continue;
        if (c == '\r' || c == '\n') {
            echo_out("\n", 1);
            echo_flush();
            line[length] = '\0';
            return true;
        }
        if (c == ctrl_d && length == 0) {
            echo_flush();
            return false;
        }
        if (c == ctrl_c) {
            echo_out("^C\n", 3);
            echo_flush();
            line[0] = '\0';
            return true;
        }
        if (c == del || c == backspace) {
            if (length > 0) {
                --length;
                echo_out("\b \b", 3);
            }
            continue;
        }
        if (c < ' ' || length + 1 == size)
            continue;  // other control characters; a full line
        line[length++] = c;
        echo_out(&c, 1);
    }
}

bool same(const char* a, const char* b) {
    while (*a != '\0' && *a == *b)
        ++a, ++b;
    return *a == *b;
}

// Splits `line` into words in place; returns how many (at most `max`).
unsigned split(char* line, const char** words, unsigned max) {
    unsigned count = 0;
    for (char* p = line; *p != '\0';) {
        while (*p == ' ' || *p == '\t')
            *p++ = '\0';
        if (*p == '\0' || count == max)
            break;
        words[count++] = p;
        while (*p != '\0' && *p != ' ' && *p != '\t')
            ++p;
    }
    return count;
}

bool number(const char* text, long& value) {
    bool negative = *text == '-';
    text += negative;
    if (*text == '\0')
        return false;
    value = 0;
    for (; *text != '\0'; ++text) {
        if (*text < '0' || *text > '9')
            return false;
        value = value * 10 + (*text - '0');
    }
    value = negative ? -value : value;
    return true;
}

void help() { print("commands: ls, echo WORDS, run PROGRAM [A0 [A1]], sleep MS, help, exit\n"); }

void list() {
    char names[256];
    const long n = user::programs(names, sizeof names);
    if (n > 0)
        user::write(1, names, static_cast<unsigned long>(n));
}

void run(const char** words, unsigned count) {
    long arguments[2] = {0, 0};
    for (unsigned i = 2; i < count; ++i)
        if (i > 3 || !number(words[i], arguments[i - 2])) {
            print("run: usage: run PROGRAM [A0 [A1]] (numbers)\n");
            return;
        }
    const long pid = user::spawn(words[1], arguments[0], arguments[1]);
    if (pid == -sys::enoent) {
        print("run: no program %s (ls lists them)\n", words[1]);
        return;
    }
    if (pid < 0) {
        print("run: cannot start %s: error %ld\n", words[1], -pid);
        return;
    }
    int status = -1;
    if (user::wait(pid, &status) != pid)
        print("run: lost %s (pid %ld)\n", words[1], pid);
    else if (status != 0)
        print("run: %s (pid %ld) exited with %d\n", words[1], pid, status);
}

// False for `exit`.
bool execute(char* line) {
    const char* words[16];
    const unsigned count = split(line, words, 16);
    if (count == 0)
        return true;
    const char* command = words[0];
    if (same(command, "exit"))
        return false;
    if (same(command, "ls")) {
        list();
    } else if (same(command, "echo")) {
        for (unsigned i = 1; i < count; ++i)
            print(i + 1 < count ? "%s " : "%s", words[i]);
        print("\n");
    } else if (same(command, "run") && count >= 2) {
        run(words, count);
    } else if (same(command, "sleep") && count == 2) {
        long milliseconds = 0;
        if (!number(words[1], milliseconds) || milliseconds < 0 || user::sleep(milliseconds) != 0)
            print("sleep: usage: sleep MS\n");
    } else if (same(command, "help")) {
        help();
    } else {
        print("%s: unknown command (help lists them)\n", command);
    }
    return true;
}

}  // namespace

long main(long, long) {
    print("kernel shell: ");
    help();
    char line[128];
    for (;;) {
        user::write(1, "$ ", 2);
        if (!read_line(line, sizeof line)) {
            print("\n");  // end of input (Ctrl-D)
            return 0;
        }
        if (!execute(line))
            return 0;
    }
}
