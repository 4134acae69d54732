/* tokenizer: see tokenizer.h */
#include "tokenizer.h"
