// SingleChannelConvBackward: the input gradient of a 2-D convolution with one
// input channel (the stem of a network on grayscale images), optionally
// through the ReLU fused after it.
//
// Why not oneDNN: its 2.6 CPU backward-data kernels block over input channels,
// so with one channel only the reference implementation applies (0.5 ms of a
// 5.6 ms ResNet batch-32 pass). Here each row of the output gradient is
// transposed to channel-major (its channels lie in contiguous blocks of 16 in
// nhwc and nChw16c), multiplied by the weights into every tap's contribution
// along the row, and added into the input gradient; with the fused ReLU, the
// output gradient is masked by the ReLU's output on the fly (no separate pass).
//
// Contract: Create() returns nullptr when the case is not covered (output
// channels not a multiple of 16 or not in contiguous blocks of 16, more input
// channels, not 2-D); the caller then uses oneDNN.
// Run() overwrites `diff_src` and runs on the calling OpenMP thread team.
//
//   auto bwd = SingleChannelConvBackward::Create(geometry, weights, w_shape, dy, y_or_empty, dx);
//   if (bwd != nullptr) bwd->Run();
#ifndef CRUCIBLE_ENGINES_CORE_OPS_SINGLE_CHANNEL_CONV_BACKWARD_H_
#define CRUCIBLE_ENGINES_CORE_OPS_SINGLE_CHANNEL_CONV_BACKWARD_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "engines/core/tensor.h"
#include "engines/core/window_geometry.h"
#include "oneapi/dnnl/dnnl.hpp"

namespace crucible {

class SingleChannelConvBackward {
 public:
  // `weights` [OC, 1, KH, KW] row-major; `diff_dst` the output gradient and
  // `relu_dst` (empty memory when no ReLU is fused) the ReLU's output, both in
  // the convolution's destination format; `diff_src` the input gradient.
  static std::unique_ptr<SingleChannelConvBackward> Create(const WindowGeometry& geometry, const float* weights,
                                                           const Shape& weight_shape, const dnnl::memory& diff_dst,
                                                           const dnnl::memory& relu_dst,
                                                           const dnnl::memory& diff_src);
  ~SingleChannelConvBackward();
  void Run();

  struct ImageArgs;

 private:
  SingleChannelConvBackward() = default;

  int64_t batch_ = 0, channels_ = 0;
  int64_t in_h_ = 0, in_w_ = 0, out_h_ = 0, out_w_ = 0;
  int64_t kernel_h_ = 0, kernel_w_ = 0;
  int64_t stride_h_ = 1, stride_w_ = 1, pad_h_ = 0, pad_w_ = 0, dilation_h_ = 1, dilation_w_ = 1;
  // Per kernel column: the output columns [first, end) whose tap reads inside the input.
  std::vector<int64_t> first_ow_, end_ow_;
  int64_t padded_taps_ = 0;               // KH * KW rounded up to a multiple of 8.
  std::vector<float> taps_;               // [OC][padded_taps_]: the weights, zero for padding taps.
  std::vector<int64_t> block_offsets_;    // Element offset of each block of 16 output channels in diff_dst.
  int64_t dst_n_ = 0, dst_h_ = 0, dst_w_ = 0;  // diff_dst strides (elements).
  int64_t src_n_ = 0, src_h_ = 0, src_w_ = 0;  // diff_src strides.
  int64_t dst_offset0_ = 0, src_offset0_ = 0;
  dnnl::memory diff_dst_, relu_dst_, diff_src_;
};

}  // namespace crucible

#endif  // CRUCIBLE_ENGINES_CORE_OPS_SINGLE_CHANNEL_CONV_BACKWARD_H_
