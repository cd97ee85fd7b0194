// A persistent thread pool sized to the cores (ZOOHUB_NUM_THREADS overrides). parallel_for cuts [0, n) into
// chunks that depend only on n, grain and the thread count, hands them out from an atomic counter and lets the
// caller work too; nested or concurrent calls run the same chunks serially, in order, so any per-chunk
// result (a partial sum, say) is bit-for-bit the same for a given thread count whatever the timing.
#pragma once
#include <cstdint>
#include <functional>

namespace zh::cpu {

int num_threads();                                  // threads parallel_for uses (caller included)
void set_num_threads(int n);                        // n >= 1; resizes the pool; throws std::invalid_argument
int default_num_threads();                          // ZOOHUB_NUM_THREADS if set (validated), else the usable cores
// fn(begin, end) over chunks of [0, n); chunks hold >= grain items; returns after every chunk is done.
void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn);
int64_t parallel_chunks(int64_t n, int64_t grain);  // how many chunks parallel_for(n, grain, .) makes now
bool in_parallel_region();                          // true inside a parallel_for body

}  // namespace zh::cpu
