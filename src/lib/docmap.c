/* docmap: see docmap.h */
#include "docmap.h"
