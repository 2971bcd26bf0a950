// A thread that walks a mapped input file ahead of its reader, so that the reader (the record
// scanner, on the conversion's thread) does only the conversion:
//  - it maps the next pages into the process (MADV_POPULATE_READ: one call per chunk instead of
//    a page fault every 64 KiB on the reader's thread), which also brings them towards the
//    caches the reader shares;
//  - it computes the input's CRC-64, chunk by chunk (the RDB trailer check);
//  - it unmaps the whole MiBs the reader has passed, kDropStep at a time (they stay in the page
//    cache). Should it fall behind (a busy machine), the reader does it too (drop_to), so that
//    resident memory stays bounded however the two threads are scheduled.
// It never runs more than kAhead bytes ahead of the reader. The reader tells it where it is
// (reader_at, between records) and asks for the CRC of everything up to a point (crc_to, once,
// at the EOF opcode).
//
// A file that shrinks under the mapping reads as zeros (signals.h) on this thread as on the
// reader's; the reader notices and stops with kInputChanged, whatever the CRC says.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <thread>

namespace rdbrekey {

class ReadAhead {
 public:
  static constexpr uint64_t kChunk = 1 << 20;
  static constexpr uint64_t kAhead = 4 * kChunk;
  static constexpr uint64_t kDropStep = 4 * kChunk;

  // `data`/`size`: the whole mapping (page-aligned, read-only, file-backed). The reader stands
  // at `start`, and `start_crc` is the CRC-64 of data[0, start). The pages before `dropped` are
  // unmapped already. `checksum`: whether to compute the CRC at all.
  ReadAhead(const uint8_t* data, uint64_t size, uint64_t start, uint64_t start_crc, uint64_t dropped,
            bool checksum);
  ~ReadAhead();  // stops the thread (waits for its current chunk)
  ReadAhead(const ReadAhead&) = delete;
  ReadAhead& operator=(const ReadAhead&) = delete;

  // The reader has consumed everything before `offset` (it never goes back).
  void reader_at(uint64_t offset) {
    // Sequentially consistent with the thread's "I sleep" flag and its own look at reader_:
    // either it sees the new offset, or this sees it sleeping and wakes it.
    reader_.store(offset);
    if (thread_waiting_.load()) wake();
  }
  // Unmaps the pages before `passed` (a multiple of kChunk) not unmapped yet, when that is at
  // least kDropStep; from either thread (each range is unmapped once).
  void drop_to(uint64_t passed);
  // The pages before this offset are unmapped.
  uint64_t dropped_to() const { return dropped_.load(); }

  // CRC-64 of data[0, offset), for offset >= start and >= every reader_at so far (with
  // checksum on); waits for the thread to get there.
  uint64_t crc_to(uint64_t offset);

 private:
  void run();
  void wake();
  uint64_t chunk_end(uint64_t i) const;

  // CRC-64 of data[0, chunk_end(i)) for the last kRing chunks done (index i % kRing).
  static constexpr uint64_t kRing = kAhead / kChunk + 8;

  const uint8_t* data_;
  uint64_t size_;
  uint64_t start_;
  uint64_t start_crc_;
  bool checksum_;
  uint64_t crcs_[kRing] = {};
  std::atomic<uint64_t> reader_;
  std::atomic<uint64_t> chunks_done_{0};
  std::atomic<uint64_t> dropped_;
  std::atomic<bool> thread_waiting_{false};  // the thread sleeps until the reader moves on
  std::atomic<bool> reader_waiting_{false};  // crc_to sleeps until the thread gets there
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  std::thread thread_;
};

}  // namespace rdbrekey
