#include "streaminfer/frame.h"

extern "C" {
#include <libavutil/frame.h>
}

namespace streaminfer {

void AvFrameDeleter::operator()(AVFrame* frame) const { av_frame_free(&frame); }

AvFramePtr make_av_frame() { return AvFramePtr(av_frame_alloc()); }

}  // namespace streaminfer
