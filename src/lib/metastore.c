/* metastore: see metastore.h */
#include "metastore.h"
