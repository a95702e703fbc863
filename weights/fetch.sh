#!/bin/sh
# Obtain one pinned model file: copy it from the shared data folder when it is there, otherwise download it
# from google-coral/test_data at a fixed commit. Either way the sha256 must match before the file is used.
# usage: weights/fetch.sh NAME SHARED_DIR OUT
set -eu
name=$1 shared=$2 out=$3
commit=104342d2d3480b3e66203073dac24f4e2dbb4c41
case $name in
  mobilenet_v2_1.0_224_quant.tflite)   sum=7aad0c74c5e3c06e5eb3c827e13304fdd68a83da6087d92ee169c24ff9fd4776 ;;
  tf2_mobilenet_v2_1.0_224_ptq.tflite) sum=5d3137241276e79c86d14a74fe43581398ae0e815191d3dba45495b810840e8c ;;
  *) echo "fetch.sh: unknown model $name" >&2; exit 2 ;;
esac
tmp=$out.part
if [ -f "$shared/weights/$name" ]; then
  cp "$shared/weights/$name" "$tmp"
else
  url=https://github.com/google-coral/test_data/raw/$commit/$name  # follows LFS redirects
  echo "fetch.sh: downloading $url" >&2
  curl -fsSL --retry 3 -o "$tmp" "$url" || { rm -f "$tmp"; echo "fetch.sh: download of $name failed" >&2; exit 1; }
fi
got=$(sha256sum "$tmp" | cut -d' ' -f1)
if [ "$got" != "$sum" ]; then
  rm -f "$tmp"
  echo "fetch.sh: $name has sha256 $got, expected $sum; refusing it" >&2
  exit 1
fi
mv "$tmp" "$out"
