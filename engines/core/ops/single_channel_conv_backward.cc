#include "engines/core/ops/single_channel_conv_backward.h"

#include <algorithm>
#include <cstring>

namespace crucible {

// The taps that reach each input coordinate along one axis: for input
// coordinate i, entries [begin[i], begin[i + 1]) of (kernel index, output
// coordinate). Computed once, so that the pixel loop does no division.
struct AxisTaps {
  std::vector<int64_t> begin;
  std::vector<int64_t> kernel_index;
  std::vector<int64_t> output;

  AxisTaps(int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t pad, int64_t dilation) {
    for (int64_t i = 0; i < in; ++i) {
      begin.push_back(static_cast<int64_t>(output.size()));
      for (int64_t k = 0; k < kernel; ++k) {
        const int64_t scaled = i + pad - k * dilation;
        if (scaled < 0 || scaled % stride != 0 || scaled / stride >= out) continue;
        kernel_index.push_back(k);
        output.push_back(scaled / stride);
      }
    }
    begin.push_back(static_cast<int64_t>(output.size()));
  }
};

namespace {

constexpr int64_t kLanes = 16;

// Element offsets of a 4-D f32 memory: plain strides, or channels blocked once.
struct Layout4d {
  int64_t n = 0, c = 0, h = 0, w = 0;  // Strides (c: of a channel block when blocked).
  int64_t block = 1;
  int64_t offset0 = 0;
  int64_t Channel(int64_t channel) const { return block == 1 ? channel * c : channel / block * c + channel % block; }
};

bool Describe(const dnnl::memory::desc& md, Layout4d* layout) {
  const dnnl_memory_desc_t& d = md.data;
  if (d.ndims != 4 || d.format_kind != dnnl_blocked || d.data_type != dnnl_f32) return false;
  const auto& blocking = d.format_desc.blocking;
  if (blocking.inner_nblks > 1 || (blocking.inner_nblks == 1 && blocking.inner_idxs[0] != 1)) return false;
  layout->block = blocking.inner_nblks == 1 ? blocking.inner_blks[0] : 1;
  layout->n = blocking.strides[0];
  layout->c = blocking.strides[1];
  layout->h = blocking.strides[2];
  layout->w = blocking.strides[3];
  layout->offset0 = d.offset0;
  return true;
}

struct RowArgs {
  int64_t channels, in_w, kernel_w;
  int64_t dst_h, dst_w, src_w;
  const AxisTaps* w_taps;
  int64_t h_begin, h_end;  // This row's entries in the height AxisTaps.
  const int64_t* h_kernel;
  const int64_t* h_output;
  const float* taps;  // [KH * KW][channels]
  const int64_t* block_offsets;  // Offset of each 16-channel block in diff_dst.
};

// 16 floats as one GCC vector: each clone below compiles it to its widest
// registers, and the ReLU mask becomes a compare and an and, not a branch.
typedef float Lanes __attribute__((vector_size(kLanes * sizeof(float))));
typedef int32_t LaneMask __attribute__((vector_size(kLanes * sizeof(int32_t))));

// One row of input-gradient pixels:
// 16-wide dot products of the (masked) output gradient with each tap's
// weights, summed over the taps that reach the pixel.
__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default"))) void GatherRow(
    const RowArgs& a, const float* dy, const float* relu_dst, float* dx) {
  const AxisTaps& wt = *a.w_taps;
  for (int64_t iw = 0; iw < a.in_w; ++iw) {
    Lanes acc = {};
    for (int64_t h = a.h_begin; h < a.h_end; ++h) {
      for (int64_t w = wt.begin[iw]; w < wt.begin[iw + 1]; ++w) {
        const int64_t at = a.h_output[h] * a.dst_h + wt.output[w] * a.dst_w;
        const float* tap = a.taps + (a.h_kernel[h] * a.kernel_w + wt.kernel_index[w]) * a.channels;
        for (int64_t c = 0; c < a.channels; c += kLanes) {
          const int64_t element = at + a.block_offsets[c / kLanes];
          Lanes d, t;
          std::memcpy(&d, dy + element, sizeof d);
          std::memcpy(&t, tap + c, sizeof t);
          if (relu_dst != nullptr) {
            Lanes y;
            std::memcpy(&y, relu_dst + element, sizeof y);
            d = reinterpret_cast<Lanes>(reinterpret_cast<LaneMask>(d) & (y > 0.0f));
          }
          acc += d * t;
        }
      }
    }
    float total = 0;
    for (int64_t j = 0; j < kLanes; ++j) total += acc[j];
    dx[iw * a.src_w] = total;
  }
}

}  // namespace

std::unique_ptr<SingleChannelConvBackward> SingleChannelConvBackward::Create(
    const WindowGeometry& geometry, const float* weights, const Shape& weight_shape, const dnnl::memory& diff_dst,
    const dnnl::memory& relu_dst, const dnnl::memory& diff_src) {
  if (weight_shape.size() != 4 || weight_shape[1] != 1 || geometry.kernel.size() != 2) return nullptr;
  Layout4d dst, src;
  if (!Describe(diff_dst.get_desc(), &dst) || !Describe(diff_src.get_desc(), &src) || src.block != 1) return nullptr;
  if (relu_dst && relu_dst.get_desc() != diff_dst.get_desc()) return nullptr;
  const dnnl::memory::dims dst_dims = diff_dst.get_desc().dims(), src_dims = diff_src.get_desc().dims();
  if (src_dims[1] != 1 || dst_dims[1] != weight_shape[0] || dst_dims[1] % kLanes != 0) return nullptr;
  for (int64_t oc = 0; oc < dst_dims[1]; ++oc) {  // Contiguous 16-channel blocks (nhwc, nChw16c).
    if (dst.Channel(oc) != dst.Channel(oc - oc % kLanes) + oc % kLanes) return nullptr;
  }

  std::unique_ptr<SingleChannelConvBackward> bwd(new SingleChannelConvBackward());
  SingleChannelConvBackward& b = *bwd;
  b.batch_ = dst_dims[0];
  b.channels_ = dst_dims[1];
  b.out_h_ = dst_dims[2];
  b.out_w_ = dst_dims[3];
  b.in_h_ = src_dims[2];
  b.in_w_ = src_dims[3];
  b.kernel_h_ = weight_shape[2];
  b.kernel_w_ = weight_shape[3];
  b.h_taps_ = std::make_unique<AxisTaps>(b.in_h_, b.out_h_, b.kernel_h_, geometry.strides[0], geometry.pads_begin[0],
                                         geometry.dilations[0]);
  b.w_taps_ = std::make_unique<AxisTaps>(b.in_w_, b.out_w_, b.kernel_w_, geometry.strides[1], geometry.pads_begin[1],
                                         geometry.dilations[1]);
  const int64_t taps = b.kernel_h_ * b.kernel_w_;
  b.taps_.resize(taps * b.channels_);
  for (int64_t oc = 0; oc < b.channels_; ++oc) {
    for (int64_t t = 0; t < taps; ++t) b.taps_[t * b.channels_ + oc] = weights[oc * taps + t];
  }
  for (int64_t oc = 0; oc < b.channels_; oc += kLanes) b.block_offsets_.push_back(dst.Channel(oc));
  b.dst_n_ = dst.n;
  b.dst_h_ = dst.h;
  b.dst_w_ = dst.w;
  b.src_n_ = src.n;
  b.src_h_ = src.h;
  b.src_w_ = src.w;
  b.dst_offset0_ = dst.offset0;
  b.src_offset0_ = src.offset0;
  b.diff_dst_ = diff_dst;
  b.relu_dst_ = relu_dst;
  b.diff_src_ = diff_src;
  return bwd;
}

SingleChannelConvBackward::~SingleChannelConvBackward() = default;

void SingleChannelConvBackward::Run() {
  const float* dy = static_cast<const float*>(diff_dst_.get_data_handle()) + dst_offset0_;
  const float* y = relu_dst_ ? static_cast<const float*>(relu_dst_.get_data_handle()) + dst_offset0_ : nullptr;
  float* dx = static_cast<float*>(diff_src_.get_data_handle()) + src_offset0_;
  const AxisTaps& ht = *h_taps_;
  const AxisTaps& wt = *w_taps_;
#pragma omp parallel for collapse(2) schedule(static)
  for (int64_t n = 0; n < batch_; ++n) {
    for (int64_t ih = 0; ih < in_h_; ++ih) {
      const RowArgs args{channels_,        in_w_,     kernel_w_,           dst_h_,
                         dst_w_,           src_w_,    &wt,                 ht.begin[ih],
                         ht.begin[ih + 1], ht.kernel_index.data(), ht.output.data(), taps_.data(), block_offsets_.data()};
      GatherRow(args, dy + n * dst_n_, y == nullptr ? nullptr : y + n * dst_n_, dx + n * src_n_ + ih * src_h_);
    }
  }
}

}  // namespace crucible
