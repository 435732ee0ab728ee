#pragma once
// Single image files through FFmpeg's own codecs (png, mjpeg, bmp decoders; png and mjpeg
// and bmp encoders), so the dataset tools need no image library beside the one that decodes the
// video.
#include <string>
#include <string_view>

#include "streaminfer/frame.h"
#include "streaminfer/status.h"

namespace streaminfer {

enum class ImageFormat { kPng, kJpeg, kBmp };

// "png" -> kPng; "jpg" or "jpeg" -> kJpeg; "bmp" -> kBmp (any case). Errors name the value and
// the choices.
Result<ImageFormat> parse_image_format(std::string_view name);
// The format a file name's extension stands for (.png, .jpg, .jpeg, .bmp), or an error.
Result<ImageFormat> image_format_of_file(std::string_view name);
// "png", "jpg" or "bmp": the extension files of this format get.
const char* image_extension(ImageFormat format);

// Whether the file name's extension is one of those (any case).
bool is_image_file_name(std::string_view name);

// Decodes the (first) picture of a png/jpg/bmp file, in the file's own pixel format. Fails with
// one line naming the path when it cannot be opened or decoded.
Result<AvFramePtr> read_image(const std::string& path);

// Converts any decoded picture to packed RGB24 of the same size (the drawing code's format).
Result<AvFramePtr> to_rgb24(const AVFrame& frame);

struct ImageWriteOptions {
  ImageFormat format = ImageFormat::kPng;
  // JPEG only: 1 (smallest file) .. 100 (best picture); mapped onto MJPEG's quantizer scale.
  int jpeg_quality = 90;
};

// Encodes `frame` (any pixel format FFmpeg can convert) into `path`, replacing the file. Fails
// with one line naming the path.
Status write_image(const AVFrame& frame, const std::string& path, const ImageWriteOptions& options);

}  // namespace streaminfer
