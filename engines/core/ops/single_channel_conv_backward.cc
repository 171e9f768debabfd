#include "engines/core/ops/single_channel_conv_backward.h"

#include <algorithm>
#include <cstring>

namespace crucible {

namespace {

constexpr int64_t kLanes = 16;
constexpr int64_t kTapGroup = 8;

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

}  // namespace

// Everything one image's pass needs; `channel_rows` and `tap_rows` are
// per-thread scratch of channels * out_w and taps * out_w floats.
struct SingleChannelConvBackward::ImageArgs {
  int64_t channels, in_h, in_w, out_h, out_w, kernel_h, kernel_w;
  int64_t stride_h, stride_w, pad_h, pad_w, dilation_h, dilation_w;
  int64_t dst_h, dst_w, src_h, src_w;
  int64_t row_stride;            // Scratch row length: out_w rounded up to 16.
  int64_t padded_taps;           // KH * KW rounded up to kTapGroup.
  const float* taps;             // [channels][padded_taps]
  const int64_t* block_offsets;  // Per 16-channel block.
  const int64_t* first_ow;       // Per kernel column: the output columns whose input column is inside.
  const int64_t* end_ow;
};

namespace {

// 16 floats as one GCC vector, compiled to each clone's widest registers.
typedef float Lanes __attribute__((vector_size(kLanes * sizeof(float))));
typedef int32_t LaneIndex __attribute__((vector_size(kLanes * sizeof(int32_t))));

// Transposes 16 vectors in place: four stages, each swapping the off-diagonal
// blocks of size 8, 4, 2, 1 between vector pairs (two-source shuffles).
inline void Transpose16(Lanes (&v)[kLanes]) {
  static constexpr int kDistances[4] = {8, 4, 2, 1};
  static constexpr LaneIndex kLow[4] = {{0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23},
                                        {0, 1, 2, 3, 16, 17, 18, 19, 8, 9, 10, 11, 24, 25, 26, 27},
                                        {0, 1, 16, 17, 4, 5, 20, 21, 8, 9, 24, 25, 12, 13, 28, 29},
                                        {0, 16, 2, 18, 4, 20, 6, 22, 8, 24, 10, 26, 12, 28, 14, 30}};
  static constexpr LaneIndex kHigh[4] = {{8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31},
                                         {4, 5, 6, 7, 20, 21, 22, 23, 12, 13, 14, 15, 28, 29, 30, 31},
                                         {2, 3, 18, 19, 6, 7, 22, 23, 10, 11, 26, 27, 14, 15, 30, 31},
                                         {1, 17, 3, 19, 5, 21, 7, 23, 9, 25, 11, 27, 13, 29, 15, 31}};
  for (int stage = 0; stage < 4; ++stage) {
    const int d = kDistances[stage];
    for (int i = 0; i < kLanes; ++i) {
      if ((i & d) != 0) continue;
      const Lanes low = __builtin_shuffle(v[i], v[i + d], kLow[stage]);
      v[i + d] = __builtin_shuffle(v[i], v[i + d], kHigh[stage]);
      v[i] = low;
    }
  }
}

// One image, by rows of the output gradient: transpose the row to
// channel-major (masking by the ReLU's output), multiply by the weights to get
// every tap's contribution along the row (vectorized over output columns), and
// add those into the input rows and columns the taps read. Scratch rows are
// `a.row_stride` (out_w rounded up to 16) floats apart.
__attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default"))) void ScatterImage(
    const SingleChannelConvBackward::ImageArgs& a, const float* dy, const float* relu_dst, float* dx,
    float* channel_rows, float* tap_rows) {
  const int64_t stride = a.row_stride;
  for (int64_t ih = 0; ih < a.in_h; ++ih) {
    for (int64_t iw = 0; iw < a.in_w; ++iw) dx[ih * a.src_h + iw * a.src_w] = 0.0f;
  }
  for (int64_t oh = 0; oh < a.out_h; ++oh) {
    for (int64_t block = 0; block * kLanes < a.channels; ++block) {
      const int64_t at = oh * a.dst_h + a.block_offsets[block];
      float* rows = channel_rows + block * kLanes * stride;
      for (int64_t ow0 = 0; ow0 < a.out_w; ow0 += kLanes) {
        Lanes v[kLanes] = {};  // Columns past the row's end stay 0.
        for (int64_t p = 0; p < kLanes && ow0 + p < a.out_w; ++p) {
          const int64_t element = at + (ow0 + p) * a.dst_w;
          std::memcpy(&v[p], dy + element, sizeof(Lanes));
          if (relu_dst != nullptr) {
            Lanes y;
            std::memcpy(&y, relu_dst + element, sizeof y);
            v[p] = reinterpret_cast<Lanes>(reinterpret_cast<LaneIndex>(v[p]) & (y > 0.0f));
          }
        }
        Transpose16(v);
        for (int64_t j = 0; j < kLanes; ++j) std::memcpy(rows + j * stride + ow0, &v[j], sizeof(Lanes));
      }
    }
    // kTapGroup independent accumulators keep the FMA pipes busy; the tap
    // count is padded to a multiple of kTapGroup with zero weights.
    for (int64_t t0 = 0; t0 < a.padded_taps; t0 += kTapGroup) {
      for (int64_t ow = 0; ow < stride; ow += kLanes) {
        Lanes acc[kTapGroup] = {};
        for (int64_t c = 0; c < a.channels; ++c) {
          Lanes d;
          std::memcpy(&d, channel_rows + c * stride + ow, sizeof d);
          const float* w = a.taps + c * a.padded_taps + t0;
          for (int64_t g = 0; g < kTapGroup; ++g) acc[g] += w[g] * d;
        }
        for (int64_t g = 0; g < kTapGroup; ++g) std::memcpy(tap_rows + (t0 + g) * stride + ow, &acc[g], sizeof(Lanes));
      }
    }
    for (int64_t kh = 0; kh < a.kernel_h; ++kh) {
      const int64_t ih = oh * a.stride_h - a.pad_h + kh * a.dilation_h;
      if (ih < 0 || ih >= a.in_h) continue;
      float* row = dx + ih * a.src_h;
      for (int64_t kw = 0; kw < a.kernel_w; ++kw) {
        const float* p = tap_rows + (kh * a.kernel_w + kw) * stride;
        const int64_t shift = kw * a.dilation_w - a.pad_w;
        if (a.stride_w == 1 && a.src_w == 1) {
          for (int64_t ow = a.first_ow[kw]; ow < a.end_ow[kw]; ++ow) row[ow + shift] += p[ow];
        } else {
          for (int64_t ow = a.first_ow[kw]; ow < a.end_ow[kw]; ++ow) row[(ow * a.stride_w + shift) * a.src_w] += p[ow];
        }
      }
    }
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
  b.stride_h_ = geometry.strides[0];
  b.stride_w_ = geometry.strides[1];
  b.pad_h_ = geometry.pads_begin[0];
  b.pad_w_ = geometry.pads_begin[1];
  b.dilation_h_ = geometry.dilations[0];
  b.dilation_w_ = geometry.dilations[1];
  for (int64_t kw = 0; kw < b.kernel_w_; ++kw) {
    int64_t first = 0, end = 0;
    for (int64_t ow = 0; ow < b.out_w_; ++ow) {
      const int64_t iw = ow * b.stride_w_ - b.pad_w_ + kw * b.dilation_w_;
      if (iw < 0) first = ow + 1;
      if (iw < b.in_w_) end = ow + 1;
    }
    b.first_ow_.push_back(first);
    b.end_ow_.push_back(std::max(first, end));
  }
  const int64_t taps = b.kernel_h_ * b.kernel_w_;
  b.padded_taps_ = (taps + kTapGroup - 1) / kTapGroup * kTapGroup;
  b.taps_.assign(b.channels_ * b.padded_taps_, 0.0f);
  for (int64_t oc = 0; oc < b.channels_; ++oc) {
    for (int64_t t = 0; t < taps; ++t) b.taps_[oc * b.padded_taps_ + t] = weights[oc * taps + t];
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
  const int64_t row_stride = (out_w_ + kLanes - 1) / kLanes * kLanes;
  const ImageArgs args{channels_, in_h_,        in_w_,        out_h_,       out_w_,          kernel_h_,
                       kernel_w_, stride_h_,    stride_w_,    pad_h_,       pad_w_,          dilation_h_,
                       dilation_w_, dst_h_,     dst_w_,       src_h_,       src_w_,          row_stride,
                       padded_taps_, taps_.data(),
                       block_offsets_.data(),   first_ow_.data(), end_ow_.data()};
#pragma omp parallel
  {
    std::vector<float> channel_rows(channels_ * row_stride), tap_rows(padded_taps_ * row_stride);
#pragma omp for schedule(static)
    for (int64_t n = 0; n < batch_; ++n) {
      ScatterImage(args, dy + n * dst_n_, y == nullptr ? nullptr : y + n * dst_n_, dx + n * src_n_,
                   channel_rows.data(), tap_rows.data());
    }
  }
}

}  // namespace crucible
