#include "ops/op_table.h"

namespace zh {
std::vector<OpInfo>& op_table() {
  static std::vector<OpInfo> table;
  return table;
}
}  // namespace zh
