#include "vmm/xenstore/store.hpp"

#include <cstdint>
// Xen's headers after <cstdint>.
#include <xen/io/xs_wire.h>

#include <spdlog/spdlog.h>

#include <string>

namespace pvvmm::xenstore {

namespace {

constexpr XsError kEINVAL{"EINVAL"};
constexpr XsError kENOENT{"ENOENT"};
constexpr XsError kEEXIST{"EEXIST"};
constexpr XsError kEAGAIN{"EAGAIN"};
constexpr XsError kENOSPC{"ENOSPC"};
constexpr XsError kE2BIG{"E2BIG"};

// xenstored's node-name alphabet.
bool valid_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '/' ||
           c == '_' || c == '@';
}

// `path` is `base` or lies below it.
bool is_under(std::string_view path, std::string_view base) {
    if (base == "/")
        return !path.empty() && path.front() == '/';
    return path.starts_with(base) && (path.size() == base.size() || path[base.size()] == '/');
}

std::string parent_of(const std::string& path) {
    const size_t slash = path.rfind('/');
    return slash == 0 ? std::string("/") : path.substr(0, slash);
}

// The prefix every descendant of `path` starts with.
std::string child_prefix(const std::string& path) { return path == "/" ? path : path + "/"; }

bool special_watch_path(std::string_view path) { return path == "@introduceDomain" || path == "@releaseDomain"; }

}  // namespace

Store::Store(uint32_t domid) : domid_(domid), home_("/local/domain/" + std::to_string(domid)) {
    nodes_.emplace("/", Node{"", next_generation_++});
}

Outcome<std::string> Store::canonical(std::string_view path) const {
    if (path.empty())
        return kEINVAL;
    std::string abs;
    if (path.front() == '/') {
        abs = path;
    } else {
        if (path.front() == '@' || path.size() > XENSTORE_REL_PATH_MAX)
            return kEINVAL;
        abs = home_ + "/" + std::string(path);
    }
    if (abs.size() > XENSTORE_ABS_PATH_MAX)
        return kEINVAL;
    if (abs != "/" && abs.back() == '/')
        return kEINVAL;
    for (size_t i = 0; i < abs.size(); ++i) {
        if (!valid_char(abs[i]) || (i > 0 && abs[i] == '/' && abs[i - 1] == '/'))
            return kEINVAL;
    }
    return abs;
}

Outcome<Store::Target> Store::target(TxId tx) {
    if (tx == 0)
        return Target{&nodes_, nullptr};
    auto it = transactions_.find(tx);
    if (it == transactions_.end())
        return kENOENT;
    return Target{&it->second.tree, &it->second};
}

void Store::touch(Target t, const std::string& path) {
    if (!t.tx)
        return;
    auto it = t.tree->find(path);
    t.tx->seen.emplace(path, it == t.tree->end() ? 0 : it->second.generation);
}

void Store::modify(Target t, const std::string& path) {
    touch(t, path);
    if (auto it = t.tree->find(path); it != t.tree->end())
        it->second.generation = next_generation_++;
    if (t.tx)
        t.tx->modified.insert(path);
}

void Store::record_change(Target t, std::string path, bool removed) {
    Change change{std::move(path), removed};
    if (t.tx)
        t.tx->changes.push_back(std::move(change));
    else
        fire(change);
}

void Store::fire(const Change& change) {
    for (const Watch& w : watches_) {
        if (special_watch_path(w.canon))
            continue;
        if (is_under(change.path, w.canon))
            queue_event(w, change.path);
        else if (change.removed && is_under(w.canon, change.path))
            queue_event(w, w.canon);  // a watched node went away with its ancestor (xenstored)
    }
}

void Store::queue_event(const Watch& w, const std::string& changed) {
    if (events_.size() >= kMaxQueuedEvents) {
        spdlog::warn("xenstore: more than {} watch events queued; dropping the one for {}", kMaxQueuedEvents, changed);
        return;
    }
    std::string path = changed;
    // A relative watch hears relative paths; `changed` lies below its
    // (absolute) node, so below the home path.
    if (!w.path.empty() && w.path.front() != '/' && !special_watch_path(w.path))
        path = changed.substr(home_.size() + 1);
    events_.push_back(WatchEvent{std::move(path), w.token});
}

Status Store::create_with_parents(Target t, const std::string& path) {
    std::vector<std::string> missing;  // deepest first
    std::string p = path;
    while (!t.tree->contains(p)) {
        missing.push_back(p);
        p = parent_of(p);
    }
    if (missing.empty())
        return Ok{};
    if (t.tree->size() + missing.size() > kMaxNodes)
        return kENOSPC;
    modify(t, p);  // its list of children changes
    for (auto it = missing.rbegin(); it != missing.rend(); ++it) {
        touch(t, *it);
        t.tree->emplace(*it, Node{});
        modify(t, *it);
    }
    return Ok{};
}

Outcome<std::string> Store::read(std::string_view path, TxId tx) {
    auto located = locate(path, tx);
    if (!located)
        return XsError{located.error()};
    auto [t, p] = std::move(located).value();
    touch(t, p);
    auto it = t.tree->find(p);
    if (it == t.tree->end())
        return kENOENT;
    return it->second.value;
}

Status Store::write(std::string_view path, std::string_view value, TxId tx) {
    auto located = locate(path, tx);
    if (!located)
        return XsError{located.error()};
    auto [t, p] = std::move(located).value();
    if (auto created = create_with_parents(t, p); !created)
        return created;
    t.tree->find(p)->second.value = value;
    modify(t, p);
    record_change(t, p, false);
    return Ok{};
}

Status Store::mkdir(std::string_view path, TxId tx) {
    auto located = locate(path, tx);
    if (!located)
        return XsError{located.error()};
    auto [t, p] = std::move(located).value();
    touch(t, p);
    if (t.tree->contains(p))
        return Ok{};
    if (auto created = create_with_parents(t, p); !created)
        return created;
    record_change(t, p, false);
    return Ok{};
}

Status Store::rm(std::string_view path, TxId tx) {
    auto located = locate(path, tx);
    if (!located)
        return XsError{located.error()};
    auto [t, p] = std::move(located).value();
    touch(t, p);
    if (!t.tree->contains(p)) {
        // Did not exist: fine if the parent does (xenstored's do_rm).
        const std::string parent = parent_of(p);
        touch(t, parent);
        return t.tree->contains(parent) ? Status{Ok{}} : Status{kENOENT};
    }
    if (p == "/")
        return kEINVAL;
    modify(t, parent_of(p));
    // p and everything below it (keys with the prefix are contiguous).
    const std::string prefix = child_prefix(p);
    std::vector<std::string> doomed{p};
    for (auto it = t.tree->lower_bound(prefix); it != t.tree->end() && it->first.starts_with(prefix); ++it)
        doomed.push_back(it->first);
    for (const auto& d : doomed) {
        touch(t, d);
        t.tree->erase(d);
        if (t.tx)
            t.tx->modified.insert(d);
    }
    record_change(t, p, true);
    return Ok{};
}

Outcome<std::vector<std::string>> Store::directory(std::string_view path, TxId tx) {
    auto located = locate(path, tx);
    if (!located)
        return XsError{located.error()};
    auto [t, p] = std::move(located).value();
    touch(t, p);
    if (!t.tree->contains(p))
        return kENOENT;
    const std::string prefix = child_prefix(p);
    std::vector<std::string> names;
    for (auto it = t.tree->lower_bound(prefix); it != t.tree->end() && it->first.starts_with(prefix); ++it) {
        std::string_view rest = std::string_view(it->first).substr(prefix.size());
        if (!rest.empty() && rest.find('/') == std::string_view::npos)
            names.emplace_back(rest);
    }
    return names;
}

Outcome<uint64_t> Store::generation(std::string_view path, TxId tx) {
    auto located = locate(path, tx);
    if (!located)
        return XsError{located.error()};
    auto [t, p] = std::move(located).value();
    touch(t, p);
    auto it = t.tree->find(p);
    if (it == t.tree->end())
        return kENOENT;
    return it->second.generation;
}

Outcome<std::string> Store::get_perms(std::string_view path, TxId tx) {
    auto located = locate(path, tx);
    if (!located)
        return XsError{located.error()};
    auto [t, p] = std::move(located).value();
    touch(t, p);
    if (!t.tree->contains(p))
        return kENOENT;
    return "n" + std::to_string(domid_);
}

Status Store::set_perms(std::string_view path, TxId tx) {
    auto located = locate(path, tx);
    if (!located)
        return XsError{located.error()};
    auto [t, p] = std::move(located).value();
    touch(t, p);
    if (!t.tree->contains(p))
        return kENOENT;
    modify(t, p);
    record_change(t, p, false);
    return Ok{};
}

Outcome<TxId> Store::transaction_start() {
    if (transactions_.size() >= kMaxTransactions)
        return kENOSPC;
    while (next_tx_ == 0 || transactions_.contains(next_tx_))
        ++next_tx_;
    const TxId id = next_tx_++;
    transactions_.emplace(id, Transaction{nodes_, {}, {}, {}});
    return id;
}

Status Store::transaction_end(TxId tx, bool commit) {
    auto it = transactions_.find(tx);
    if (tx == 0 || it == transactions_.end())
        return kENOENT;
    Transaction t = std::move(it->second);
    transactions_.erase(it);
    if (!commit)
        return Ok{};
    for (const auto& [path, generation] : t.seen) {
        auto live = nodes_.find(path);
        if ((live == nodes_.end() ? 0 : live->second.generation) != generation)
            return kEAGAIN;
    }
    // Sorted, so a parent is created before its children.
    for (const auto& path : t.modified) {
        auto mine = t.tree.find(path);
        if (mine == t.tree.end())
            nodes_.erase(path);
        else
            nodes_[path] = Node{mine->second.value, next_generation_++};
    }
    for (const Change& change : t.changes)
        fire(change);
    return Ok{};
}

Outcome<Store::Located> Store::locate(std::string_view path, TxId tx) {
    auto t = target(tx);
    if (!t)
        return XsError{t.error()};
    auto p = canonical(path);
    if (!p)
        return XsError{p.error()};
    return Located{*t, std::move(p).value()};
}

Outcome<std::string> Store::watch_key(std::string_view path) const {
    if (special_watch_path(path))
        return std::string(path);
    return canonical(path);
}

Status Store::watch(std::string_view path, std::string_view token) {
    auto key = watch_key(path);
    if (!key)
        return XsError{key.error()};
    std::string canon = std::move(key).value();
    for (const Watch& w : watches_) {
        if (w.canon == canon && w.token == token)
            return kEEXIST;
    }
    if (watches_.size() >= kMaxWatches)
        return kE2BIG;
    watches_.push_back(Watch{std::string(path), std::move(canon), std::string(token)});
    // Fired once up front, as xenstored does, with the path as given.
    if (events_.size() < kMaxQueuedEvents)
        events_.push_back(WatchEvent{std::string(path), std::string(token)});
    return Ok{};
}

Status Store::unwatch(std::string_view path, std::string_view token) {
    auto key = watch_key(path);
    if (!key)
        return XsError{key.error()};
    const std::string& canon = key.value();
    for (auto it = watches_.begin(); it != watches_.end(); ++it) {
        if (it->canon == canon && it->token == token) {
            watches_.erase(it);
            return Ok{};
        }
    }
    return kENOENT;
}

void Store::reset_watches() {
    watches_.clear();
    events_.clear();
    transactions_.clear();
}

std::vector<WatchEvent> Store::take_events() { return std::exchange(events_, {}); }

}  // namespace pvvmm::xenstore
