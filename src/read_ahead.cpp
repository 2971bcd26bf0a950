#include "rdbrekey/read_ahead.h"

#include <sys/mman.h>

#include <algorithm>

#include "rdbrekey/crc64.h"

namespace rdbrekey {
namespace {

// CRC-64 of bytes that are not in any cache yet: a page at a time, with the lines of the page
// after next asked for first. (The hardware prefetcher stops at page boundaries, and page-cache
// pages are scattered in memory.)
uint64_t crc_prefetching(uint64_t crc, const uint8_t* p, uint64_t n) {
  constexpr uint64_t kPage = 4096, kDistance = 2 * kPage;
  while (n > 0) {
    uint64_t step = std::min(n, kPage);
    if (n > kDistance)
      for (uint64_t line = 0; line < std::min(kPage, n - kDistance); line += 64) __builtin_prefetch(p + kDistance + line);
    crc = crc64(crc, p, step);
    p += step;
    n -= step;
  }
  return crc;
}

}  // namespace

ReadAhead::ReadAhead(const uint8_t* data, uint64_t size, uint64_t start, uint64_t start_crc, uint64_t dropped,
                     bool checksum)
    : data_(data), size_(size), start_(start), start_crc_(start_crc), checksum_(checksum), reader_(start),
      dropped_(dropped) {
  thread_ = std::thread([this] { run(); });
}

ReadAhead::~ReadAhead() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_.store(true);
  }
  cv_.notify_all();
  thread_.join();
}

void ReadAhead::wake() {
  std::lock_guard<std::mutex> lock(mu_);
  cv_.notify_all();
}

// Chunks are counted from start_: chunk i is data[start_ + i * kChunk, chunk_end(i)).
uint64_t ReadAhead::chunk_end(uint64_t i) const { return std::min(size_, start_ + (i + 1) * kChunk); }

void ReadAhead::run() {
  uint64_t crc = start_crc_;
  const uint64_t chunks = (size_ - start_ + kChunk - 1) / kChunk;
  for (uint64_t i = 0; i < chunks; ++i) {
    const uint64_t begin = start_ + i * kChunk, end = chunk_end(i);
    // Not more than kAhead ahead of the reader; while waiting, nothing to do.
    for (;;) {
      if (stop_.load()) return;
      uint64_t reader = reader_.load();
      drop_to(reader & ~(kChunk - 1));
      if (begin < reader + kAhead) break;
      std::unique_lock<std::mutex> lock(mu_);
      thread_waiting_.store(true);
      cv_.wait(lock, [&] { return stop_.load() || begin < reader_.load() + kAhead; });
      thread_waiting_.store(false);
    }
    // Page-aligned for madvise (the mapping starts on a page); a failure (an old kernel without
    // MADV_POPULATE_READ, a file that shrank) only means the pages fault in as they are read.
    const uint64_t page_begin = begin & ~uint64_t{4095};
    const bool behind = end <= reader_.load();  // this thread lags (a busy machine): the reader passed it
    if (!behind) ::madvise(const_cast<uint8_t*>(data_) + page_begin, end - page_begin, MADV_POPULATE_READ);
    if (checksum_) crc = crc_prefetching(crc, data_ + begin, end - begin);
    if (behind && end > page_begin + 4096) {
      // Hashing mapped the chunk in again: out with it, or a lagging thread would keep behind
      // the reader everything the reader dropped.
      const uint64_t page_end = end & ~uint64_t{4095};
      ::madvise(const_cast<uint8_t*>(data_) + page_begin + 4096, page_end - page_begin - 4096, MADV_DONTNEED);
    }
    crcs_[i % kRing] = crc;
    chunks_done_.store(i + 1);
    if (reader_waiting_.load()) wake();
  }
}

void ReadAhead::drop_to(uint64_t passed) {
  uint64_t from = dropped_.load();
  while (passed >= from + kDropStep) {
    if (dropped_.compare_exchange_weak(from, passed)) {
      ::madvise(const_cast<uint8_t*>(data_) + from, passed - from, MADV_DONTNEED);
      return;
    }
  }
}

uint64_t ReadAhead::crc_to(uint64_t offset) {
  offset = std::min(offset, size_);
  if (offset <= start_) return start_crc_;  // not asked for in practice (the reader is past start_)
  // The whole chunks before `offset` are the thread's; the rest is hashed here.
  const uint64_t whole = (offset - start_) / kChunk;
  reader_at(offset);  // lets the thread go as far as it needs to
  uint64_t crc = start_crc_, from = start_;
  if (whole > 0) {
    std::unique_lock<std::mutex> lock(mu_);
    reader_waiting_.store(true);  // the thread wakes this one after each chunk
    cv_.wait(lock, [&] { return chunks_done_.load() >= whole; });
    reader_waiting_.store(false);
    // The thread is at most kAhead / kChunk + 1 chunks past the reader, which is at `offset`:
    // chunk whole - 1 is still in the ring.
    crc = crcs_[(whole - 1) % kRing];
    from = chunk_end(whole - 1);
  }
  return crc64(crc, data_ + from, offset - from);
}

}  // namespace rdbrekey
