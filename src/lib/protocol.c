/* protocol: see protocol.h */
#include "protocol.h"
