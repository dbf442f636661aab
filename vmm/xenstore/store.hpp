// The xenstore tree that the host serves to its one PV guest, with
// xenstored's semantics (tools/xenstored, docs/misc/xenstore.txt): nodes
// named by '/'-separated paths hold binary-safe values and children; write
// creates missing parents with empty values; rm is recursive; transactions
// work on a private copy of the tree and commit only when nothing they read
// or wrote changed meanwhile (else EAGAIN); watches queue events for the
// watched path and everything below it.
//
// Errors are xenstore's error names ("ENOENT", "EINVAL", ...), exactly what
// an XS_ERROR reply carries. Paths not starting with '/' are relative to
// /local/domain/<domid> of the store's domain.
//
// Not thread-safe: the caller serialises every use of a Store and of the
// Server bound to it (one lock around both).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace pvvmm::xenstore {

// A xenstore error name as XS_ERROR carries it: "ENOENT", "EAGAIN", ...
struct XsError {
    std::string_view name;
};

// A T, or the xenstore error that stopped the operation.
template <typename T>
class [[nodiscard]] Outcome {
public:
    Outcome(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
    Outcome(XsError error) : v_(error) {}       // NOLINT: implicit by design

    [[nodiscard]] bool ok() const { return v_.index() == 0; }
    explicit operator bool() const { return ok(); }
    const T& value() const& { return std::get<0>(v_); }
    T&& value() && { return std::get<0>(std::move(v_)); }
    const T& operator*() const& { return value(); }
    const T* operator->() const { return &value(); }
    // The error name; "" when ok().
    [[nodiscard]] std::string_view error() const { return ok() ? std::string_view{} : std::get<1>(v_).name; }

private:
    std::variant<T, XsError> v_;
};

struct Ok {};
using Status = Outcome<Ok>;

// 0 means "no transaction", as in xsd_sockmsg.tx_id.
using TxId = uint32_t;

struct WatchEvent {
    std::string path;  // as the watcher named it: relative when the watch was relative
    std::string token;
};

class Store {
public:
    // Limits, per store (one guest per store): watches and transactions as
    // xenstored's default quotas; nodes and queued events bound the host's
    // memory.
    static constexpr size_t kMaxWatches = 128;        // E2BIG beyond
    static constexpr size_t kMaxTransactions = 10;    // ENOSPC beyond
    static constexpr size_t kMaxNodes = 4096;         // ENOSPC beyond (the whole tree)
    static constexpr size_t kMaxQueuedEvents = 1024;  // older events are kept, newer dropped (logged)

    explicit Store(uint32_t domid = 0);

    [[nodiscard]] uint32_t domid() const { return domid_; }
    // "/local/domain/<domid>", the base of relative paths.
    [[nodiscard]] const std::string& domain_path() const { return home_; }

    // Every operation takes tx = 0 for the live tree, or an id from
    // transaction_start (ENOENT when unknown).
    Outcome<std::string> read(std::string_view path, TxId tx = 0);
    Status write(std::string_view path, std::string_view value, TxId tx = 0);
    // OK when the node already exists (xenstored).
    Status mkdir(std::string_view path, TxId tx = 0);
    // Recursive. A missing node is OK when its parent exists, ENOENT
    // otherwise; "/" is EINVAL (xenstored's do_rm).
    Status rm(std::string_view path, TxId tx = 0);
    // Names of the children, sorted.
    Outcome<std::vector<std::string>> directory(std::string_view path, TxId tx = 0);
    // A number that changes whenever the node or its list of children does
    // (XS_DIRECTORY_PART's <gencnt>).
    Outcome<uint64_t> generation(std::string_view path, TxId tx = 0);

    // Permissions are not enforced: the guest is the only client. get_perms
    // answers "n<domid>" (owner: the domain, nobody else has access) for
    // any existing node; set_perms only checks that the node exists and
    // fires its watches, as a permission change does in xenstored.
    Outcome<std::string> get_perms(std::string_view path, TxId tx = 0);
    Status set_perms(std::string_view path, TxId tx = 0);

    Outcome<TxId> transaction_start();
    // commit: apply, or EAGAIN (transaction discarded) when a node it read
    // or wrote changed in the live tree since it started. !commit: discard.
    Status transaction_end(TxId tx, bool commit);

    // Registers a watch and queues its initial event (path, token), as
    // xenstored does. "@introduceDomain" and "@releaseDomain" are accepted
    // and never fire again. EEXIST for a duplicate (path, token).
    Status watch(std::string_view path, std::string_view token);
    // ENOENT when no such watch.
    Status unwatch(std::string_view path, std::string_view token);
    // XS_RESET_WATCHES: drops every watch, pending event and transaction.
    void reset_watches();

    [[nodiscard]] bool has_events() const { return !events_.empty(); }
    // The queued events, oldest first; the queue is left empty.
    std::vector<WatchEvent> take_events();

    [[nodiscard]] size_t node_count() const { return nodes_.size(); }

private:
    struct Node {
        std::string value;
        uint64_t generation = 0;
    };
    using Tree = std::map<std::string, Node, std::less<>>;

    // A change for watches: the node at `path` was written/created, or (rm)
    // removed together with everything below it.
    struct Change {
        std::string path;
        bool removed;
    };

    struct Transaction {
        Tree tree;                                          // the private copy
        std::map<std::string, uint64_t, std::less<>> seen;  // path -> generation at first access (0: absent)
        std::set<std::string, std::less<>> modified;        // paths whose node differs from the base
        std::vector<Change> changes;                        // watch events to fire on commit
    };

    struct Watch {
        std::string path;   // as given
        std::string canon;  // absolute, or the special "@..." name
        std::string token;
    };

    // The tree an operation works on, and its transaction (or null).
    struct Target {
        Tree* tree;
        Transaction* tx;
    };

    Outcome<Target> target(TxId tx);
    // The target of `tx` and `path` made absolute: every node operation's start.
    struct Located {
        Target target;
        std::string path;
    };
    Outcome<Located> locate(std::string_view path, TxId tx);
    Outcome<std::string> canonical(std::string_view path) const;
    // What a watch is keyed by: the canonical path, or a special "@..." name.
    Outcome<std::string> watch_key(std::string_view path) const;
    void touch(Target t, const std::string& path);   // records a read in a transaction
    void modify(Target t, const std::string& path);  // records and bumps a node's generation
    void record_change(Target t, std::string path, bool removed);
    void fire(const Change& change);
    void queue_event(const Watch& w, const std::string& changed);
    Status create_with_parents(Target t, const std::string& path);

    uint32_t domid_;
    std::string home_;
    Tree nodes_;
    uint64_t next_generation_ = 1;
    std::map<TxId, Transaction> transactions_;
    TxId next_tx_ = 1;
    std::vector<Watch> watches_;
    std::vector<WatchEvent> events_;
};

}  // namespace pvvmm::xenstore
