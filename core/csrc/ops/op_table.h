// The op table: every public op registers its name and whether it is differentiable, so tests can
// enumerate the ops and fail for any without a forward test or a gradient check.
#pragma once
#include <string>
#include <vector>

namespace zh {

struct OpInfo {
  std::string name;
  bool differentiable;
};

std::vector<OpInfo>& op_table();

struct RegisterOp {
  RegisterOp(const char* name, bool differentiable) { op_table().push_back({name, differentiable}); }
};

#define ZH_OP_CONCAT2(a, b) a##b
#define ZH_OP_CONCAT(a, b) ZH_OP_CONCAT2(a, b)
// ZH_REGISTER_OPS(true, "add", "sub") at file scope.
#define ZH_REGISTER_OPS(differentiable, ...)                                              \
  static const bool ZH_OP_CONCAT(zh_ops_registered_, __LINE__) = [] {                     \
    for (const char* n : {__VA_ARGS__}) ::zh::op_table().push_back({n, differentiable});  \
    return true;                                                                          \
  }()

}  // namespace zh
