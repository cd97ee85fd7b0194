// Placeholder API of the kernel layer (replaced by the kernels branch): serial parallel_for.
#pragma once
#include <cstdint>
#include <functional>

namespace zh::cpu {
int num_threads();
void set_num_threads(int n);
void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn);
}  // namespace zh::cpu
