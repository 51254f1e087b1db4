"""Which files are images and which are videos, by suffix: one list for the photo pipeline (photos.io) and the
annotation readers (data), here at the bottom so that data needs no import of the photos package for it."""

# Every still format this OpenCV decodes (imread's list; OpenEXR is off in its builds, so not .exr). The order is
# the one a 300-W folder's image is looked for in, beside its .pts: .png before .jpg, as it always was.
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".jpe", ".bmp", ".dib", ".webp", ".avif", ".gif", ".tif", ".tiff",
                  ".jp2", ".pbm", ".pgm", ".ppm", ".pnm", ".pfm", ".sr", ".ras", ".hdr", ".pic")
VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm")
