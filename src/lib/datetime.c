/* datetime: see datetime.h */
#include "datetime.h"
