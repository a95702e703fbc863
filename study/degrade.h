/* degrade: the accuracy study's image path — centre square, down to s x s, back up to the network's
 * 224 x 224, so the network sees what a camera with only s x s pixels would have given it. */
#ifndef STUDY_DEGRADE_H
#define STUDY_DEGRADE_H

#include "nn/image/image.h"

/* out = resize(resize(crop_center(in), s), 224).  s <= 0 or s == 224: no degradation (crop, resize).
 * out is owned by the caller (img_free).  Returns 0 or a negative nn error. */
int degrade(const struct img *in, int s, struct img *out);

#endif
