/* segment: see segment.h */
#include "segment.h"
