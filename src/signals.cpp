#include "rdbrekey/signals.h"

#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include <fmt/format.h>

#include "rdbrekey/error.h"

namespace rdbrekey::signals {
namespace {

// Temporary files: slots holding malloc'ed paths. The handler only reads the slots (a path is
// published whole, and a slot is emptied before its path is freed).
constexpr size_t kMaxTemps = 4096;
std::atomic<char*> g_temps[kMaxTemps];

struct Mapping {
  std::atomic<uintptr_t> begin{0};
  std::atomic<uintptr_t> end{0};
  std::atomic<uintptr_t> fault_at{0};  // 0: no fault; else the first missing address
};
constexpr int kMaxMappings = 256;
Mapping g_maps[kMaxMappings];
uintptr_t g_page_size = 4096;
struct sigaction g_previous_sigbus;

void remove_temps() {
  for (auto& slot : g_temps)
    if (char* p = slot.load(std::memory_order_acquire)) ::unlink(p);
}

std::atomic<bool> g_defer_stop{false};
std::atomic<int> g_stop_signal{0};

void on_fatal_signal(int sig) {
  int none = 0;
  if (g_defer_stop.load() && g_stop_signal.compare_exchange_strong(none, sig)) return;  // the first: recorded
  remove_temps();
  ::signal(sig, SIG_DFL);
  ::raise(sig);
}

void on_sigbus(int sig, siginfo_t* info, void* context) {
  auto addr = reinterpret_cast<uintptr_t>(info->si_addr);
  for (Mapping& m : g_maps) {
    uintptr_t begin = m.begin.load(std::memory_order_acquire), end = m.end.load(std::memory_order_acquire);
    if (begin == 0 || addr < begin || addr >= end) continue;
    // The file behind the mapping shrank: the rest of the mapping reads as zeros from now on,
    // and the reader, seeing the mark, stops with a clear error.
    uintptr_t page = addr & ~(g_page_size - 1);
    void* r = ::mmap(reinterpret_cast<void*>(page), end - page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
                     -1, 0);
    if (r == MAP_FAILED) break;
    uintptr_t expected = 0;
    m.fault_at.compare_exchange_strong(expected, addr);
    return;
  }
  remove_temps();
  if (g_previous_sigbus.sa_flags & SA_SIGINFO) {
    if (g_previous_sigbus.sa_sigaction) return g_previous_sigbus.sa_sigaction(sig, info, context);
  } else if (g_previous_sigbus.sa_handler != SIG_DFL && g_previous_sigbus.sa_handler != SIG_IGN) {
    return g_previous_sigbus.sa_handler(sig);
  }
  ::signal(sig, SIG_DFL);
  ::raise(sig);
}

void install_sigbus_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    g_page_size = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
    struct sigaction sa {};
    sa.sa_sigaction = on_sigbus;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_SIGINFO;
    ::sigaction(SIGBUS, &sa, &g_previous_sigbus);
  });
}

}  // namespace

void install_cleanup() {
  struct sigaction sa {};
  sa.sa_handler = on_fatal_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // the handler restores the default action itself (a deferred stop keeps it)
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
  ::sigaction(SIGHUP, &sa, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
  ::signal(SIGXFSZ, SIG_IGN);
  install_sigbus_once();
}

void defer_stop_signals() noexcept { g_defer_stop.store(true); }

int stop_requested() noexcept { return g_stop_signal.load(); }

size_t register_temp(const std::string& path) {
  char* copy = ::strdup(path.c_str());
  if (!copy) throw Error(Errc::kInternal, "out of memory");
  for (size_t i = 0; i < kMaxTemps; ++i) {
    char* expected = nullptr;
    if (g_temps[i].compare_exchange_strong(expected, copy, std::memory_order_acq_rel)) return i;
  }
  std::free(copy);
  throw Error(Errc::kTooMany, fmt::format("more than {} output files at once", kMaxTemps));
}

void unregister_temp(size_t handle) noexcept {
  if (handle >= kMaxTemps) return;
  std::free(g_temps[handle].exchange(nullptr, std::memory_order_acq_rel));
}

int register_mapping(const void* begin, size_t size) {
  install_sigbus_once();
  auto b = reinterpret_cast<uintptr_t>(begin);
  for (int i = 0; i < kMaxMappings; ++i) {
    uintptr_t expected = 0;
    if (g_maps[i].begin.compare_exchange_strong(expected, b)) {
      g_maps[i].fault_at.store(0);
      g_maps[i].end.store(b + size, std::memory_order_release);
      return i;
    }
  }
  return -1;
}

bool mapping_faulted(int handle) noexcept { return handle >= 0 && g_maps[handle].fault_at.load() != 0; }

size_t mapping_fault_offset(int handle) noexcept {
  if (!mapping_faulted(handle)) return 0;
  return static_cast<size_t>(g_maps[handle].fault_at.load() - g_maps[handle].begin.load());
}

void unregister_mapping(int handle) noexcept {
  if (handle < 0) return;
  g_maps[handle].end.store(0);
  g_maps[handle].fault_at.store(0);
  g_maps[handle].begin.store(0, std::memory_order_release);
}

namespace {

sigset_t async_signals() {
  sigset_t set;
  sigemptyset(&set);
  for (int s : {SIGINT, SIGTERM, SIGHUP, SIGPIPE}) sigaddset(&set, s);
  return set;
}

}  // namespace

static_assert(sizeof(sigset_t) <= sizeof(unsigned long[16]));

AsyncSignalsBlocked::AsyncSignalsBlocked() noexcept {
  sigset_t set = async_signals();
  ::pthread_sigmask(SIG_BLOCK, &set, reinterpret_cast<sigset_t*>(saved_));
}

AsyncSignalsBlocked::~AsyncSignalsBlocked() {
  ::pthread_sigmask(SIG_SETMASK, reinterpret_cast<sigset_t*>(saved_), nullptr);
}

void block_async_signals_in_this_thread() noexcept {
  sigset_t set = async_signals();
  ::pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

}  // namespace rdbrekey::signals
